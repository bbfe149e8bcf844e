"""What people type: control characters, names, email addresses and postcodes, through the pages."""

from __future__ import annotations

import html
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import validation
from advocacy.delivery.compose import compose_letter, compose_notification
from advocacy.models import Letter, Notification
from tests.campaigns.conftest import CAMPAIGN, csrf_token, page_form, preview_form, write_form

pytestmark = pytest.mark.usefixtures("seeded")

PREVIEW = f"/campaigns/{CAMPAIGN}/preview"
SEND = f"/campaigns/{CAMPAIGN}/send"
CONTROLS = "\x00\x01\x07\x08\x1b\x7f\x80\x9b\x9f"


def page(response: object) -> str:
    """A response's HTML, entities decoded."""
    return html.unescape(response.get_data(as_text=True))  # type: ignore[attr-defined]


def _saved(session: Session) -> Letter:
    return session.scalars(select(Letter)).one()


def test_multiline_fields_lose_control_characters_but_keep_their_lines(
    client: FlaskClient, session: Session
) -> None:
    words = f"My cousin{CONTROLS} has not been heard from\v since 2018.\fPlease\x85 help."
    form = write_form(client, personal_words=words, address="1 High\x00 Street\r\nAldershot")
    preview = client.post(PREVIEW, data=form)
    assert preview.status_code == 200
    sent = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    assert sent.status_code == 303
    letter = _saved(session)
    for text in (letter.personal_text, letter.sender_address, letter.body_text):
        assert not any(char in text for char in CONTROLS + "\v\f\x85\r")
    assert letter.personal_text == (
        "My cousin has not been heard from\n since 2018.\nPlease\n help."
    )
    assert letter.sender_address == "1 High Street\nAldershot"


@pytest.mark.parametrize("char", list(CONTROLS + "\t\v\f"))
def test_a_name_with_a_control_character_is_refused_and_handed_back_clean(
    client: FlaskClient, char: str
) -> None:
    response = client.post(PREVIEW, data=write_form(client, name=f"Ayesha{char}Khan"))
    assert response.status_code == 422
    markup = page(response)
    assert "invisible control characters" in markup or "one line" in markup
    value = re.search(r'id="name"[^>]*value="([^"]*)"', markup) or re.search(
        r'value="([^"]*)"[^>]*id="name"', markup
    )
    assert value is not None
    assert value.group(1) in {"AyeshaKhan", "Ayesha Khan"}


@pytest.mark.parametrize("field", ["name", "subject"])
def test_the_send_step_refuses_control_characters_in_headers(
    client: FlaskClient, session: Session, field: str
) -> None:
    form = preview_form(client)
    form[field] = form[field] + "\x1b[2J\x07"
    response = client.post(SEND, data=form)
    assert response.status_code == 422
    assert "invisible control characters" in page(response)
    assert session.scalars(select(Letter)).first() is None


@pytest.mark.parametrize(
    "name", ["Ali\u202eilA", "A\u200bli Khan", "Ali\u2067Khan\u2069", "\ufeffAli"]
)
def test_a_name_with_bidi_controls_or_zero_width_characters_is_refused(
    client: FlaskClient, name: str
) -> None:
    response = client.post(PREVIEW, data=write_form(client, name=name))
    assert response.status_code == 422
    assert "invisible formatting characters" in page(response)


@pytest.mark.parametrize(
    "name",
    ["boss@bank.example", "The Bank <security@bank.example>", 'Ayesha "CEO" Khan', "A\uff20b"],
)
def test_a_name_that_could_pass_for_an_address_is_refused(client: FlaskClient, name: str) -> None:
    response = client.post(PREVIEW, data=write_form(client, name=name))
    assert response.status_code == 422
    assert "Please enter just your name" in page(response)


@pytest.mark.parametrize("name", ["https://evil.example/win", "ftp://x", "Win at evil.example"])
def test_a_name_with_a_web_address_is_refused_everywhere(client: FlaskClient, name: str) -> None:
    response = client.post(PREVIEW, data=write_form(client, name=name))
    assert response.status_code == 422
    assert "cannot contain a web address" in page(response)
    form = preview_form(client, name=name)
    assert client.post(SEND, data=form).status_code == 422


def test_an_apostrophe_in_a_name_is_fine(client: FlaskClient) -> None:
    assert client.post(PREVIEW, data=write_form(client, name="Seán O'Brien")).status_code == 200


def test_an_international_domain_is_kept_as_typed_and_shown_in_punycode(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    typed = "Ayesha@\u0430\u0440\u0440\u04cf\u0435.com"
    preview = client.post(PREVIEW, data=write_form(client, email=typed))
    assert preview.status_code == 200
    markup = page(preview)
    assert "Ayesha@xn--80ak6aa92e.com" in markup
    assert (
        "\u0430\u0440\u0440\u04cf\u0435" not in markup.split('name="email"')[0]
    )  # only the hidden field keeps it
    sent = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    assert sent.status_code == 303
    letter = _saved(session)
    assert letter.sender_email == typed
    email = compose_letter(letter, app.config["SETTINGS"])
    assert email.reply_to_email == "Ayesha@xn--80ak6aa92e.com"
    assert "Ayesha@xn--80ak6aa92e.com" in email.text
    assert "\u0430\u0440\u0440\u04cf\u0435" not in email.text + email.html
    note = session.scalars(select(Notification)).one()
    assert compose_notification(note, app.config["SETTINGS"]).to_email == (
        "Ayesha@xn--80ak6aa92e.com"
    )


@pytest.mark.parametrize("email", ["ayesha@p\u0430ypal.com", "ayesha@g\u03bfogle.com"])
def test_a_mixed_script_domain_is_refused(client: FlaskClient, email: str) -> None:
    response = client.post(PREVIEW, data=write_form(client, email=email))
    assert response.status_code == 422
    assert "mixes letters from different alphabets" in page(response)


def _send_and_confirm(client: FlaskClient, app: Flask, session: Session, email: str) -> None:
    preview = client.post(PREVIEW, data=write_form(client, email=email))
    sent = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    assert sent.status_code == 303
    letter = session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    assert letter is not None
    note = session.scalars(select(Notification).where(Notification.letter_id == letter.id)).one()
    link = re.search(
        r"http://localhost(/letters/confirm/\S+)",
        compose_notification(note, app.config["SETTINGS"]).text,
    )
    assert link is not None
    landing = client.get(link.group(1)).get_data(as_text=True)
    assert client.post(link.group(1), data={"csrf_token": csrf_token(landing)}).status_code == 303


@pytest.mark.parametrize(
    ("first", "again"),
    [
        ("ayesha@example.org", "Ayesha+2@Example.org"),
        ("ayesha.khan@gmail.com", "AyeshaKhan+uyghur@googlemail.com"),
    ],
)
def test_tagged_and_dotted_variants_of_an_address_are_one_person(
    client: FlaskClient, app: Flask, session: Session, first: str, again: str
) -> None:
    _send_and_confirm(client, app, session, first)
    preview = client.post(PREVIEW, data=write_form(client, email=again))
    response = client.post(SEND, data=page_form(preview.get_data(as_text=True), "/send"))
    # Refused at the second letter's emailed link, never at the form (which must not tell
    # whoever types an address whether it has written): both letters are one person's.
    assert response.status_code == 303
    digests = {letter.email_digest for letter in session.scalars(select(Letter))}
    assert len(digests) == 1
    assert validation.canonical_email(first) == validation.canonical_email(again)


@pytest.mark.parametrize("postcode", ["GU1 11AA", "GU111 AA"])
def test_one_separator_in_the_wrong_place_is_a_typo_not_another_district(
    client: FlaskClient, postcode: str
) -> None:
    response = client.post(PREVIEW, data=write_form(client, postcode=postcode))
    assert response.status_code == 422
    assert "The part after the space should be a number and two letters" in page(response)


def test_the_postcode_box_explains_a_misplaced_space(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/mp", query_string={"postcode": "M1 11AE"})
    assert response.status_code == 422
    assert "The part after the space should be a number and two letters" in page(response)
