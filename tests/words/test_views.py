"""The hint on the write and preview pages, and the hold, through the real journey."""

from __future__ import annotations

import dataclasses
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Letter, LetterFingerprint, LetterState
from tests.campaigns.conftest import CAMPAIGN, write_form, write_page_url
from tests.words.conftest import (
    CIRCULATED,
    CIRCULATED_AGAIN,
    OWN_WORDS,
    previewed,
    write_and_confirm,
)

pytestmark = pytest.mark.usefixtures("seeded")

JSON_URL = f"/campaigns/{CAMPAIGN}/words.json"
PAGE_URL = f"/campaigns/{CAMPAIGN}/words"
CLOSE = (
    "Your words are very close to 3 other letters to Alex Baker. A sentence about why this "
    "matters to you will carry more weight."
)


def text(response: object) -> str:
    """A response's visible text: tags removed, whitespace collapsed."""
    markup = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))


def _copies(client: FlaskClient, app: Flask, session: Session, count: int = 3) -> list[Letter]:
    """`count` people who pasted the same paragraph, to Aldershot's MP, confirmed."""
    return [
        write_and_confirm(
            client,
            app,
            session,
            email=f"copier{i}@example.org",
            words=CIRCULATED,
            name=f"Copier Number{i}",
            address=f"{i} Copy Lane\nAldershot",
        )[0]
        for i in range(count)
    ]


def test_write_and_preview_pages_offer_the_check(client: FlaskClient) -> None:
    write = client.get(write_page_url(client)).get_data(as_text=True)
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client)).get_data(
        as_text=True
    )
    for page, value in ((write, "write"), (preview, "preview")):
        assert f'data-words-url="{JSON_URL}"' in page
        assert f'formaction="{PAGE_URL}"' in page
        assert f'value="{value}"' in page
        assert "Check my words" in page
        assert '<script src="/static/words.js" defer></script>' in page
        # One include, inside the form, after the main button (which stays the default).
        form = page[page.index('<form method="post"') : page.index("</form>")]
        assert form.index('class="button">') < form.index("Check my words")


def test_the_script_is_served_from_our_own_origin(client: FlaskClient) -> None:
    with client.get("/static/words.js") as response:
        assert response.status_code == 200
        script = response.get_data(as_text=True)
    # It asks only the page's own endpoint (read from the page), never another site.
    assert 'getAttribute("data-words-url")' in script
    assert "http:" not in script
    assert "https:" not in script
    assert "setTimeout" in script  # debounced


def test_hint_json_for_a_near_copy(client: FlaskClient, app: Flask, session: Session) -> None:
    _copies(client, app, session)
    form = write_form(client, personal_words=CIRCULATED_AGAIN, email="new@example.org")
    response = client.post(JSON_URL, data=form, headers={"Accept": "application/json"})
    assert response.status_code == 200
    assert response.get_json() == {
        "close": True,
        "message": CLOSE,
        "similar_letters": 3,
        "to_your_mp": True,
    }


def test_hint_json_for_own_words(client: FlaskClient, app: Flask, session: Session) -> None:
    _copies(client, app, session)
    form = write_form(client, personal_words=OWN_WORDS[0], email="new@example.org")
    data = client.post(JSON_URL, data=form).get_json()
    assert data["close"] is False
    assert data["similar_letters"] is None
    assert "no other letter like yours" in data["message"]


def test_hint_counts_the_edited_body_on_the_preview_page(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    _copies(client, app, session)
    form = previewed(client, personal_words=OWN_WORDS[1], email="new@example.org")
    form["body"] = form["body"].replace(OWN_WORDS[1], CIRCULATED_AGAIN)
    # On the write page only the person's own words count; on the preview page the body too.
    from_write_page = {**form, "csrf_token": write_form(client)["csrf_token"]}
    assert client.post(JSON_URL, data=from_write_page).get_json()["close"] is False
    form["words_page"] = "preview"
    assert client.post(JSON_URL, data=form).get_json()["close"] is True


def test_responses_never_contain_anyone_elses_words(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    _copies(client, app, session)
    mine = "My own grandfather was a teacher in Hotan and I have not heard his voice since 2017."
    form = write_form(client, personal_words=CIRCULATED_AGAIN[:90] + " " + mine)
    responses = [
        client.post(JSON_URL, data=form),
        client.post(PAGE_URL, data={**form, "words_page": "write"}),
        client.post(
            PAGE_URL,
            data={**previewed(client, personal_words=mine), "words_page": "preview"},
        ),
    ]
    others = [*(f"Copier Number{i}" for i in range(3)), "Copy Lane", "copier0@example.org"]
    # The part of the paragraph the person did not paste belongs to the others' letters.
    unpasted = "press the Government to act against forced labour now"
    for response in responses:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        for secret in [*others, unpasted]:
            assert secret not in body


def test_no_script_check_shows_the_hint_and_keeps_everything_typed(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    _copies(client, app, session)
    # Half-written: no address yet. Nothing is validated, so no errors appear.
    form = write_form(client, personal_words=CIRCULATED_AGAIN, address="", words_page="write")
    response = client.post(PAGE_URL, data=form)
    assert response.status_code == 200
    page = text(response)
    assert CLOSE in page
    assert "There is a problem" not in page
    markup = response.get_data(as_text=True)
    assert 'value="Ayesha Khan"' in markup
    assert 'value="ayesha@example.org"' in markup
    assert "DEEPLY concerned about the treatment" in markup
    assert 'name="recipient" type="hidden" value="' in markup
    assert "Preview my letter" in page


def test_no_script_check_on_the_preview_page_keeps_the_edited_letter(
    client: FlaskClient,
) -> None:
    form = previewed(client, personal_words=OWN_WORDS[2])
    form["body"] = form["body"] + "\n\nP.S. An edit of my own."
    form["words_page"] = "preview"
    response = client.post(PAGE_URL, data=form)
    assert response.status_code == 200
    page = text(response)
    assert "Check your letter" in page
    assert "no other letter like yours" in page
    assert "P.S. An edit of my own." in response.get_data(as_text=True)


def test_check_needs_a_valid_form_token(client: FlaskClient) -> None:
    form = write_form(client, csrf_token="forged")
    response = client.post(JSON_URL, data=form)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_form_token"
    page = client.post(PAGE_URL, data={**form, "words_page": "write"})
    assert page.status_code == 400
    assert "could not be verified" in text(page)
    assert 'value="Ayesha Khan"' in page.get_data(as_text=True)


def test_check_refuses_other_sites(client: FlaskClient) -> None:
    response = client.post(
        JSON_URL, data=write_form(client), headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 400
    assert "our own site" in response.get_json()["error"]["message"]


def test_check_of_an_unknown_campaign_or_seat_is_a_json_404(client: FlaskClient) -> None:
    form = write_form(client)
    # A form token is bound to its campaign, so another campaign's page is refused first.
    assert client.post("/campaigns/nope/words.json", data=form).get_json()["error"]["code"] == (
        "bad_form_token"
    )
    response = client.post(JSON_URL, data={**form, "recipient": "forged"})
    assert response.status_code == 404


def test_check_is_rate_limited_with_the_lookup_limit_across_both_forms(
    client: FlaskClient, app: Flask
) -> None:
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], rate_limit_lookup="2 per minute"
    )
    form = write_form(client)
    assert client.post(JSON_URL, data=form).status_code == 200
    assert client.post(PAGE_URL, data={**form, "words_page": "write"}).status_code == 200
    refused = client.post(JSON_URL, data=form)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert refused.headers["Retry-After"]


def test_a_near_copy_is_held_when_confirmed_and_the_writer_is_told(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    _copies(client, app, session, count=1)
    letter, thanks = write_and_confirm(
        client, app, session, email="late@example.org", words=CIRCULATED_AGAIN
    )
    held = session.get(Letter, letter.id)
    assert held is not None
    assert held.state == LetterState.HELD
    assert held.failure_reason == "near-copy: 1.00 similar to 1 other letter to the same MP"
    assert held.next_attempt_at is None
    assert thanks.endswith("?review=1")
    page = text(client.get(thanks))
    assert "Your letter will be read by the campaign team before it goes" in page


def test_a_letter_in_own_words_is_queued(client: FlaskClient, app: Flask, session: Session) -> None:
    _copies(client, app, session, count=2)
    letter, thanks = write_and_confirm(
        client, app, session, email="own@example.org", words=OWN_WORDS[3]
    )
    assert session.get(Letter, letter.id).state == LetterState.QUEUED  # type: ignore[union-attr]
    assert "review" not in thanks
    assert "read by the campaign team" not in text(client.get(thanks))
    assert session.scalars(
        select(LetterFingerprint.letter_id).where(LetterFingerprint.letter_id == letter.id)
    ).first()
