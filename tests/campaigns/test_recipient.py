"""The MP comes from the server's signed choice: no form field can send a letter elsewhere."""

from __future__ import annotations

import html
import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns import recipient
from advocacy.directory.service import invalidate_directory_cache
from advocacy.models import Letter
from advocacy.security import signer
from tests.campaigns.conftest import (
    CAMPAIGN,
    page_form,
    preview_form,
    write_form,
    write_page_url,
)
from tests.fakes.postcodes_io import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")

PREVIEW = f"/campaigns/{CAMPAIGN}/preview"
SEND = f"/campaigns/{CAMPAIGN}/send"
ALDERSHOT, SOUTH_HOLLAND = "E14001063", "E14001487"


def _letters(session: Session) -> list[Letter]:
    session.expire_all()
    return list(session.scalars(select(Letter)))


def _text(response: object) -> str:
    markup = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup)))


def test_bare_constituency_and_lookup_fields_are_ignored(
    client: FlaskClient, session: Session
) -> None:
    # What the form used to trust: another seat's code and an empty looked-up postcode.
    form = preview_form(client, constituency=SOUTH_HOLLAND, lookup_postcode="")
    assert client.post(SEND, data=form).status_code == 303
    [letter] = _letters(session)
    assert letter.constituency_code == ALDERSHOT
    assert letter.recipient_name == "Alex Baker"


def _retargeted(token: str) -> str:
    """The token with its payload switched to South Holland and its signature kept."""
    payload, rest = token.split(".", 1)
    other = recipient.issue(recipient.Recipient(SOUTH_HOLLAND, "GU11 1AA"))
    return other.split(".", 1)[0] + "." + rest if payload else token


@pytest.mark.parametrize("forgery", ["empty", "junk", "retargeted", "bad_signature"])
@pytest.mark.parametrize("path", [PREVIEW, SEND])
def test_a_missing_or_tampered_recipient_token_sends_nothing(
    client: FlaskClient, session: Session, app: Flask, forgery: str, path: str
) -> None:
    form = write_form(client) if path == PREVIEW else preview_form(client)
    token = form["recipient"]
    form["recipient"] = {
        "empty": "",
        "junk": "forged",
        "retargeted": _retargeted(token),
        "bad_signature": token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
    }[forgery]
    response = client.post(path, data=form)
    assert response.status_code == 400
    assert _letters(session) == []


def test_a_token_signed_for_another_purpose_is_refused(
    client: FlaskClient, session: Session
) -> None:
    form = preview_form(client)
    form["recipient"] = signer("csrf").dumps([SOUTH_HOLLAND, ""])
    assert client.post(SEND, data=form).status_code == 400
    assert _letters(session) == []


def test_an_old_recipient_token_is_refused(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = preview_form(client)
    issued_at = time.time() - recipient.MAX_AGE - 60
    monkeypatch.setattr(time, "time", lambda: issued_at)
    form["recipient"] = recipient.issue(recipient.Recipient(ALDERSHOT, "GU11 1AA"))
    monkeypatch.undo()
    assert client.post(SEND, data=form).status_code == 400
    assert _letters(session) == []


def test_another_seats_token_with_this_address_is_refused(
    client: FlaskClient, session: Session
) -> None:
    # A genuine token, issued for a South Holland look-up, with an Aldershot address.
    south = write_page_url(client, postcode="PE12 6AA")
    form = page_form(client.get(south).get_data(as_text=True), "/preview")
    aldershot = write_form(client)
    form.update({k: aldershot[k] for k in ("name", "email", "address", "personal_words")})
    form["postcode"] = "GU11 1AA"
    response = client.post(PREVIEW, data=form)
    assert response.status_code == 422
    assert "This postcode is in Aldershot, not South Holland and the Deepings" in _text(response)


@pytest.mark.parametrize("postcode", ["PE12 6AA", "SW1A 1AA"])
def test_changing_the_postcode_at_the_send_step_is_checked_again(
    client: FlaskClient, session: Session, postcode: str
) -> None:
    form = preview_form(client, postcode=postcode)
    response = client.post(SEND, data=form)
    assert response.status_code == 422
    assert "This postcode is in" in _text(response)
    assert _letters(session) == []


def test_another_postcode_in_the_same_seat_is_accepted(
    client: FlaskClient, session: Session, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.add_postcode("GU11 1AB", constituency_code=ALDERSHOT)
    preview = client.post(PREVIEW, data=write_form(client, postcode="gu11 1ab"))
    assert preview.status_code == 200
    sent = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    assert sent.status_code == 303
    [letter] = _letters(session)
    assert (letter.constituency_code, letter.sender_postcode) == (ALDERSHOT, "GU11 1AB")


def _picked_write_form(client: FlaskClient, code: str) -> dict[str, str]:
    """The write form after choosing a seat from the list (as when look-ups are down)."""
    page = client.get(f"/campaigns/{CAMPAIGN}/mp?constituency={code}").get_data(as_text=True)
    link = re.search(r'href="([^"]*/write\?[^"]*letter=general[^"]*)"', page)
    assert link is not None
    form = page_form(client.get(html.unescape(link.group(1))).get_data(as_text=True), "/preview")
    filled = write_form(client)
    form.update({k: filled[k] for k in ("name", "email", "address", "personal_words")})
    return form


def test_a_picked_seat_is_checked_against_the_postcode(
    client: FlaskClient, session: Session
) -> None:
    form = _picked_write_form(client, SOUTH_HOLLAND)
    form["postcode"] = "GU11 1AA"
    response = client.post(PREVIEW, data=form)
    assert response.status_code == 422
    assert "This postcode is in Aldershot" in _text(response)


def test_a_picked_seat_is_trusted_while_look_ups_are_down(
    client: FlaskClient, session: Session, postcodes_io: PostcodesIoFake
) -> None:
    invalidate_directory_cache()
    postcodes_io.add_postcode("GU11 1AD", constituency_code=ALDERSHOT)
    form = _picked_write_form(client, ALDERSHOT)
    form["postcode"] = "GU11 1AD"
    postcodes_io.fail_always(status=503)
    preview = client.post(PREVIEW, data=form)
    assert preview.status_code == 200
    sent = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    assert sent.status_code == 303
    [letter] = _letters(session)
    assert letter.constituency_code == ALDERSHOT


def test_choose_another_letter_keeps_the_signed_choice(client: FlaskClient) -> None:
    write = client.get(write_page_url(client)).get_data(as_text=True)
    back = re.search(r'href="([^"]*/mp\?[^"]*)"', write)
    assert back is not None
    mp = client.get(html.unescape(back.group(1)))
    assert mp.status_code == 200
    assert "Your postcode" in _text(mp)
    assert "GU11 1AA" in _text(mp)
