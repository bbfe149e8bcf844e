"""The MP, write, preview and print pages as people use them: with a screen reader, on a
phone, without JavaScript, and for an MP who publishes no email address."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns.forms import MAX_PERSONAL_WORDS, MIN_PERSONAL_WORDS
from advocacy.models import LetterTemplate
from tests.campaigns.conftest import (
    CAMPAIGN,
    page_form,
    preview_form,
    visible_text,
    write_form,
    write_page_url,
)

pytestmark = pytest.mark.usefixtures("seeded")

MP_PAGE = f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA"
ONE_LETTER = "Each person sends one letter per campaign"
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
STATIC = Path(__file__).resolve().parents[2] / "advocacy" / "static"


def _keep_one_letter(session: Session) -> None:
    """Leave the campaign with only its general letter."""
    other = session.scalars(
        select(LetterTemplate).where(LetterTemplate.slug == "womens-rights")
    ).one()
    other.removed_at = datetime.now(UTC)
    session.commit()


def test_each_write_link_names_its_letter(client: FlaskClient) -> None:
    page = client.get(MP_PAGE).get_data(as_text=True)
    links = re.findall(r'<a class="button" href="[^"]*/write\?[^"]*">(.*?)</a>', page)
    assert links == [
        'Write this letter<span class="visually-hidden">: The persecution of the Uyghurs</span>',
        'Write this letter<span class="visually-hidden">: The oppression of Uyghur women</span>',
    ]


def test_with_several_letters_the_mp_and_write_pages_say_one_per_person(
    client: FlaskClient,
) -> None:
    mp = visible_text(client.get(MP_PAGE))
    # Said before the letters, so it is read before choosing.
    assert ONE_LETTER in mp
    assert mp.index(ONE_LETTER) < mp.index("Write this letter")
    assert ONE_LETTER in visible_text(client.get(write_page_url(client)))


def test_with_one_letter_there_is_no_choice_to_warn_about(
    client: FlaskClient, session: Session
) -> None:
    _keep_one_letter(session)
    assert ONE_LETTER not in visible_text(client.get(MP_PAGE))
    assert ONE_LETTER not in visible_text(client.get(write_page_url(client)))


def test_write_page_shows_the_campaigns_letter_with_placeholders(client: FlaskClient) -> None:
    response = client.get(write_page_url(client))
    page = response.get_data(as_text=True)
    details = re.search(r'<details class="campaign-letter">(.*?)</details>', page, re.S)
    assert details, "no campaign letter on the write page"
    letter = details.group(1)
    assert "<summary>The campaign's letter your words will join</summary>" in letter
    assert "Your constituent on the persecution of the Uyghurs" in letter
    assert "Dear Alex Baker," in letter
    assert '<mark class="placeholder">[your own words]</mark>' in letter
    assert '<mark class="placeholder">[your name]</mark>' in letter
    # Collapsed: the page opens on the form, not on the letter.
    assert "<details open" not in page


def test_write_page_with_a_broken_template_still_opens(
    client: FlaskClient, session: Session
) -> None:
    url = write_page_url(client)
    template = session.scalars(select(LetterTemplate).where(LetterTemplate.slug == "general")).one()
    template.body_template = "Dear {{ mp_name }}, {{ no_such_thing }}"
    session.commit()
    response = client.get(url)
    assert response.status_code == 200
    assert "campaign-letter" not in response.get_data(as_text=True)
    assert 'name="personal_words"' in response.get_data(as_text=True)


def test_write_page_states_the_length_of_own_words_before_it_is_broken(
    client: FlaskClient,
) -> None:
    response = client.get(write_page_url(client))
    limits = f"Between {MIN_PERSONAL_WORDS} and {MAX_PERSONAL_WORDS:,} characters"
    assert limits in visible_text(response)
    page = response.get_data(as_text=True)
    field = re.search(r"<textarea[^>]*personal_words[^>]*>", page)
    assert field
    # The numbers journey.js counts against are the validator's own.
    assert f'minlength="{MIN_PERSONAL_WORDS}"' in field.group(0)
    assert f'maxlength="{MAX_PERSONAL_WORDS}"' in field.group(0)
    assert 'data-count="characters"' in field.group(0)
    assert 'aria-describedby="personal_words-hint"' in field.group(0)
    assert "/static/journey.js" in page


def test_every_error_summary_can_take_the_focus() -> None:
    """journey.js moves the focus to the summary after a failed submit; a <div> takes it
    only with a tabindex."""
    missing = [
        f"{path.relative_to(TEMPLATES)}:{number}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if 'class="error-summary"' in line and 'tabindex="-1"' not in line
    ]
    assert missing == []


def test_text_boxes_grow_with_their_text(client: FlaskClient) -> None:
    css = (STATIC / "site.css").read_text()
    rules = dict(re.findall(r"^(textarea[^{]*)\{([^}]*)\}", css, re.M))
    assert "field-sizing: content" in rules["textarea "]
    assert "max-height: none" in rules["textarea[name=body] "]
    # Where field-sizing is unknown, journey.js grows them; the preview loads it.
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    assert "/static/journey.js" in preview.get_data(as_text=True)
    assert "field-sizing" in (STATIC / "journey.js").read_text()


REDRAFT = f"/campaigns/{CAMPAIGN}/preview/redraft"


def test_preview_offers_to_start_again_from_the_campaigns_letter(client: FlaskClient) -> None:
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    page = preview.get_data(as_text=True)
    button = re.search(r"<button[^>]*>Start again from the campaign&#39;s letter</button>", page)
    assert button, "no start-again button"
    assert f'formaction="{REDRAFT}"' in button.group(0)
    assert "formnovalidate" in button.group(0)
    # Not the form's first button, so Enter in the subject still means "Send my letter".
    assert page.index("Send my letter") < button.start()


def test_start_again_redrafts_subject_and_letter_and_keeps_the_rest(
    client: FlaskClient,
) -> None:
    form = preview_form(client, subject="My own subject", body="Dear Alex, I changed it all.")
    response = client.post(REDRAFT, data=form)
    assert response.status_code == 200
    again = page_form(response.get_data(as_text=True), "/send")
    assert again["subject"] == "Your constituent on the persecution of the Uyghurs"
    assert again["body"].startswith("Dear Alex Baker,")
    assert "My cousin has not been heard from since 2018. Please help." in again["body"]
    assert again["body"].endswith("Yours sincerely,\nAyesha Khan")
    for name in ("name", "email", "address", "postcode", "personal_words", "recipient"):
        assert again[name] == form[name], name
    assert "There is a problem" not in visible_text(response)
    # And the redrafted letter can be sent as it is.
    assert client.post(f"/campaigns/{CAMPAIGN}/send", data=again).status_code == 303


@pytest.mark.parametrize(
    ("change", "headers"),
    [({"csrf_token": "forged.token.value"}, {}), ({}, {"Origin": "https://evil.example"})],
)
def test_start_again_checks_the_form_token_and_origin(
    client: FlaskClient, change: dict[str, str], headers: dict[str, str]
) -> None:
    form = preview_form(client, body="Dear Alex, my own edited letter.", **change)
    response = client.post(REDRAFT, data=form, headers=headers)
    assert response.status_code == 400
    # Nothing was redrafted: the person's edit is still there to send once they reload.
    assert page_form(response.get_data(as_text=True), "/send")["body"] == form["body"]


@pytest.mark.parametrize("body", ["", "Dear Alex, hi."])
def test_an_empty_or_cut_letter_points_to_start_again(client: FlaskClient, body: str) -> None:
    response = client.post(f"/campaigns/{CAMPAIGN}/send", data=preview_form(client, body=body))
    assert response.status_code == 422
    summary = re.search(
        r'<div class="error-summary".*?</div>', response.get_data(as_text=True), re.S
    )
    assert summary
    assert "Start again from the campaign&#39;s letter" in summary.group(0)


def test_long_addresses_break_and_the_header_lists_stack_on_a_phone() -> None:
    """What tests/browser measures at 320 px, stated in the stylesheet."""
    css = (STATIC / "site.css").read_text()
    breaking = re.search(r"^([^{}\n]*)\{ overflow-wrap: anywhere; \}", css, re.M)
    assert breaking
    for selector in ("dd", "pre.signature", "code", "address"):
        assert selector in breaking.group(1).split(", ")
    narrow = re.search(r"@media \(max-width: 30em\) \{(.*?)\n\}", css, re.S)
    assert narrow
    assert "dl.mp, dl.email-headers { grid-template-columns: minmax(0, 1fr);" in narrow.group(1)
