"""The MP, write, preview and print pages as people use them: with a screen reader, on a
phone, without JavaScript, and for an MP who publishes no email address."""

from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from advocacy.campaigns import addressing
from advocacy.campaigns.forms import MAX_PERSONAL_WORDS, MIN_PERSONAL_WORDS
from advocacy.models import Letter, LetterTemplate, MemberOfParliament
from tests.campaigns.conftest import (
    CAMPAIGN,
    page_form,
    preview_form,
    visible_text,
    write_form,
    write_page_url,
)
from tests.fakes.postcodes_io import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")

MP_PAGE = f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA"
NBSP = "\N{NO-BREAK SPACE}"
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
    assert f'data-maxlength="{MAX_PERSONAL_WORDS}"' in field.group(0)
    # No maxlength: a browser would cut pasted words short without saying so.
    assert " maxlength=" not in field.group(0)
    assert 'data-count="characters"' in field.group(0)
    assert 'aria-describedby="personal_words-hint"' in field.group(0)
    assert "/static/journey.js" in page


@pytest.mark.parametrize(
    ("words", "said"),
    [
        ("Please help.", "Please write at least 20 characters in your own words (so far 12)."),
        (
            "Ich warte. " * 273 + "Bitte helfen Sie.",
            "Please keep your own words to 3,000 characters: they are 3,020, 20 too many.",
        ),
    ],
)
def test_own_words_off_the_limits_say_how_many_and_come_back_whole(
    client: FlaskClient, words: str, said: str
) -> None:
    # Without JavaScript there is no live count: the page itself says how far off they are.
    page = client.post(
        f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, personal_words=words)
    )
    assert page.status_code == 422
    assert said in visible_text(page)
    field = re.search(
        r"<textarea[^>]*personal_words[^>]*>(.*?)</textarea>", page.get_data(as_text=True), re.S
    )
    assert field is not None
    assert html.unescape(field.group(1)).strip("\r\n") == words.strip()


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


# The printed-letter path: an MP who publishes no email address --------------------------


@pytest.fixture
def no_email(seeded: Flask, session: Session) -> MemberOfParliament:
    """Aldershot's MP, without an email address."""
    seat = session.get(MemberOfParliament, "E14001063")
    assert seat is not None
    seat.email = None
    session.commit()
    return seat


def _printed(client: FlaskClient, **overrides: str) -> TestResponse:
    """Write (with overrides), preview, and make the printable letter."""
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, **overrides))
    assert preview.status_code == 200, visible_text(preview)
    return client.post(
        f"/campaigns/{CAMPAIGN}/print", data=page_form(preview.get_data(as_text=True), "/print")
    )


@pytest.mark.usefixtures("no_email")
def test_write_page_for_a_printed_letter_promises_no_email(client: FlaskClient) -> None:
    response = client.get(write_page_url(client))
    page = visible_text(response)
    assert "Alex Baker publishes no email address, so we make your letter ready to print" in page
    assert "post it to House of Commons, London SW1A 0AA" in page
    assert "Nothing is emailed, to your MP or to you, and nothing is kept" in page
    main = page.split("Skip to content", 1)[1].split("We use no tracking", 1)[0]
    assert "confirm" not in main.lower()
    assert "reply to this address" not in main
    assert "Your email address (optional)" in page
    assert "printed under your address, so Alex Baker can reply by email" in page
    email = re.search(r'<input[^>]*name="email"[^>]*>', response.get_data(as_text=True))
    assert email
    assert " required" not in email.group(0)


def test_write_page_for_an_emailed_letter_still_asks_for_the_address(
    client: FlaskClient,
) -> None:
    response = client.get(write_page_url(client))
    assert "We send you a link to confirm your letter" in visible_text(response)
    assert "(optional)" not in visible_text(response)
    email = re.search(r'<input[^>]*name="email"[^>]*>', response.get_data(as_text=True))
    assert email
    assert " required" in email.group(0)
    refused = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, email=""))
    assert refused.status_code == 422
    assert "Please enter your email address" in visible_text(refused)


@pytest.mark.usefixtures("no_email")
def test_a_printed_letter_needs_no_email_address_and_keeps_nothing(
    client: FlaskClient, session: Session
) -> None:
    printed = _printed(client, email="")
    assert printed.status_code == 200
    letter = re.search(r'<address class="from">(.*?)</address>', printed.get_data(as_text=True))
    assert letter
    assert letter.group(1).split("<br>")[-1] == "GU11 1AA"
    assert session.scalars(select(Letter)).first() is None
    # A mistyped address is still refused: given, it is printed for the MP to reply to.
    refused = client.post(
        f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, email="ayesha@")
    )
    assert refused.status_code == 422


@pytest.mark.usefixtures("no_email")
def test_an_email_address_given_is_printed_under_the_address(client: FlaskClient) -> None:
    printed = _printed(client).get_data(as_text=True)
    sender = re.search(r'<address class="from">(.*?)</address>', printed, re.S)
    assert sender
    lines = [line.strip() for line in re.sub(r"<(?!br)[^>]+>", "", sender.group(1)).split("<br>")]
    assert lines == ["Ayesha Khan", "1 High Street", "Aldershot", "GU11 1AA", "ayesha@example.org"]


@pytest.mark.usefixtures("no_email")
def test_the_printable_letter_is_dated_and_offers_to_print(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(addressing, "uk_today", lambda: date(2026, 12, 3))
    response = _printed(client)
    page = response.get_data(as_text=True)
    assert '<p class="date">3 December 2026</p>' in page
    # The button needs a script, which shows it; without one the page names the command.
    assert re.search(r"<button[^>]*data-print hidden>Print this letter</button>", page)
    assert "use your browser's Print command" in visible_text(response).replace("&#39;", "'")
    assert "/static/journey.js" in page
    assert "post it with a stamp to House of Commons, London SW1A 0AA" in visible_text(response)


@pytest.mark.usefixtures("no_email")
def test_start_again_works_for_a_printed_letter_too(client: FlaskClient) -> None:
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, email=""))
    form = page_form(preview.get_data(as_text=True), "/print")
    response = client.post(REDRAFT, data={**form, "body": "Dear Alex, gone."})
    assert response.status_code == 200
    assert page_form(response.get_data(as_text=True), "/print")["body"].startswith("Dear Alex")


@pytest.mark.parametrize(
    ("address", "line"),
    [
        ("House of Commons\nLondon\nSW1A 0AA", f"House of Commons, London SW1A{NBSP}0AA"),
        (
            "Constituency Office,\n 12 Market Street\n\nSpalding\npe11 1aa\n",
            f"Constituency Office, 12 Market Street, Spalding pe11{NBSP}1aa",
        ),
        ("House of Commons\nLondon", "House of Commons, London"),
        ("Portcullis House", "Portcullis House"),
    ],
)
def test_postal_line_writes_an_address_in_running_text(address: str, line: str) -> None:
    assert addressing.postal_line(address) == line


def test_letter_date_is_written_the_uk_way() -> None:
    assert addressing.letter_date(date(2026, 12, 3)) == "3 December 2026"
    assert addressing.letter_date(date(2027, 1, 21)) == "21 January 2027"


def test_mp_page_writes_the_mps_own_address_in_running_text(
    client: FlaskClient, no_email: MemberOfParliament, session: Session
) -> None:
    no_email.postal_address = "Constituency Office\n12 Victoria Road\nAldershot\nGU11 1SS"
    session.commit()
    page = visible_text(client.get(MP_PAGE))
    assert "to print and post to Constituency Office, 12 Victoria Road, Aldershot GU11 1SS." in page


def test_outage_page_names_the_service_and_the_likely_reason(
    client: FlaskClient, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.fail_always(status=503)
    response = client.get(MP_PAGE)
    assert response.status_code == 503
    page = visible_text(response)
    assert "We find your MP with postcodes.io" in page
    assert "Most likely it is down for a while, or the computer running this site" in page
    assert "has lost its internet connection" in page
    # Still the two ways on: the same postcode again, or a constituency from the list.
    assert "Try GU11 1AA again" in page
    assert 'name="constituency"' in response.get_data(as_text=True)
