"""Reply detection: Reply-To lists, the Inbound Parse webhook, and what it keeps."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from advocacy.config import ConfigurationError, Settings
from advocacy.delivery.compose import compose_letter
from advocacy.delivery.mail import build_mail
from advocacy.models import Campaign, Letter, utcnow
from advocacy.responses.inbound import PostTooLarge, read_parts
from advocacy.responses.tokens import public_id_from_token, reply_token
from tests.conftest import TEST_SECRET, make_settings
from tests.delivery.helpers import new_letter
from tests.fakes.sendgrid import (
    INBOUND_CONTENT_TYPE,
    AcceptedMessage,
    inbound_parse_body,
    post_inbound_parse,
    validate,
)
from tests.responses.conftest import INBOUND_PATH, INBOUND_SECRET, REPLY_DOMAIN
from tests.responses.helpers import replies


def test_reply_to_lists_the_constituent_first_then_the_letter_address(
    sent: tuple[Letter, AcceptedMessage],
) -> None:
    letter, message = sent
    assert "reply_to" not in message.payload
    constituent, copy = message.reply_to
    assert constituent == "ayesha@example.org"
    assert copy == f"reply+{reply_token(letter.public_id, TEST_SECRET)}@{REPLY_DOMAIN}"
    assert len(copy.split("@")[0]) <= 64


def test_reply_to_is_the_constituent_alone_without_reply_domain(
    app: Flask, campaign: Campaign, database_url: str, tmp_path: object
) -> None:
    settings = make_settings(database_url, tmp_path / "other")  # type: ignore[operator]
    payload = build_mail(compose_letter(new_letter(campaign), settings)).get()
    assert payload["reply_to"] == {"email": "ayesha@example.org", "name": "Ayesha Khan"}
    assert "reply_to_list" not in payload


def test_fake_sendgrid_refuses_reply_to_beside_reply_to_list() -> None:
    payload = {
        "personalizations": [{"to": [{"email": "mp@parliament.uk"}]}],
        "from": {"email": "letters@campaign.example"},
        "subject": "s",
        "content": [{"type": "text/plain", "value": "x"}],
        "reply_to": {"email": "a@example.org"},
        "reply_to_list": [{"email": "a@example.org"}, {"email": "not an address"}],
    }
    fields = [error["field"] for error in validate(payload)]
    assert fields == ["reply_to_list", "reply_to_list.1.email"]


def test_bad_reply_domain_is_refused_at_start_up(database_url: str, tmp_path: object) -> None:
    with pytest.raises(ConfigurationError, match="REPLY_DOMAIN"):
        make_settings(database_url, tmp_path, env={"REPLY_DOMAIN": "not a domain"})  # type: ignore[arg-type]


def test_an_mp_reply_marks_the_letter_replied(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    response = post_reply(message)
    assert response.status_code == 200
    (reply,) = replies(session, letter)
    assert (reply.is_automatic, reply.is_from_mp) == (False, True)
    assert abs((reply.received_at - utcnow()).total_seconds()) < 60


@pytest.mark.parametrize(
    ("sample", "options"),
    [
        ("default", {"extra_headers": ("Auto-Submitted: auto-replied",)}),
        ("default", {"extra_headers": ("X-Autoreply: yes",)}),
        ("default", {"extra_headers": ("Precedence: auto_reply",)}),
        ("default", {"subject": "Automatic reply: Please keep Leeds libraries open"}),
        ("raw", {"subject": "Out of Office: back on Monday"}),
        ("raw", {"extra_headers": ("X-Autorespond: Thank you for your email",)}),
    ],
)
def test_an_out_of_office_is_counted_as_an_acknowledgement(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    sample: str,
    options: dict,
) -> None:
    letter, message = sent
    response = post_reply(message, sample=sample, **options)
    assert response.status_code == 200
    (reply,) = replies(session, letter)
    assert reply.is_automatic is True


def test_a_reply_from_the_raw_sample_is_a_real_reply(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    post_reply(message, sample="raw", sender="Caseworker <c@example.net>")
    (reply,) = replies(session, letter)
    assert (reply.is_automatic, reply.is_from_mp) == (False, False)


def test_a_second_post_of_the_same_message_changes_nothing(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    for _ in range(2):
        assert post_reply(message).status_code == 200
    (first,) = replies(session, letter)
    # A different message (a real reply after the acknowledgement) is a second row.
    post_reply(message, message_id="<reply-2@mail.parliament.uk>")
    digests = {r.message_digest for r in replies(session, letter)}
    assert len(digests) == 2
    assert first.message_digest in digests


def test_without_a_message_id_the_header_block_tells_duplicates_apart(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    for _ in range(2):
        post_reply(message, message_id=None)
    assert len(replies(session, letter)) == 1


def test_the_digest_is_not_the_message_id(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    post_reply(message, message_id="<abc@parliament.uk>")
    (reply,) = replies(session, letter)
    assert "abc" not in reply.message_digest
    assert reply.message_digest != hashlib.sha256(b"<abc@parliament.uk>").hexdigest()


def test_a_bad_secret_gets_404(client: FlaskClient) -> None:
    body = inbound_parse_body([f"reply+{'0' * 48}@{REPLY_DOMAIN}"])
    headers = {"Content-Type": INBOUND_CONTENT_TYPE}
    wrong = "/webhooks/sendgrid/inbound/" + INBOUND_SECRET[:-1] + "x"
    assert client.post(wrong, data=body, headers=headers).status_code == 404
    assert client.post(INBOUND_PATH, data=body, headers=headers).status_code == 200


def test_without_a_configured_secret_every_post_gets_404(
    app: Flask, client: FlaskClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SETTINGS", replace(settings, inbound_parse_secret=""))
    body = inbound_parse_body([f"reply+{'0' * 48}@{REPLY_DOMAIN}"])
    headers = {"Content-Type": INBOUND_CONTENT_TYPE}
    assert client.post("/webhooks/sendgrid/inbound/", data=body, headers=headers).status_code == 404
    assert client.post(INBOUND_PATH, data=body, headers=headers).status_code == 404


class _Unreadable(io.RawIOBase):
    """A request body that fails the test if anyone reads it."""

    read_calls = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
        type(self).read_calls += 1
        raise AssertionError("the oversized body was read")


def test_a_30_mb_post_is_refused_without_being_read(client: FlaskClient) -> None:
    response = client.post(
        INBOUND_PATH,
        headers={"Content-Type": INBOUND_CONTENT_TYPE},
        environ_overrides={"wsgi.input": _Unreadable(), "CONTENT_LENGTH": str(30 * 1024 * 1024)},
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).startswith("ignored")
    assert _Unreadable.read_calls == 0


def test_a_post_without_length_is_cut_off_at_the_limit() -> None:
    read = []

    def chunks():  # an endless body
        while True:
            read.append(1)
            yield b"x" * 65536

    with pytest.raises(PostTooLarge):
        read_parts(chunks(), b"xYzZY", 1024 * 1024)
    assert len(read) <= 17


def test_attachments_and_bodies_are_not_kept() -> None:
    body = inbound_parse_body(["reply+" + "0" * 48 + "@x.example"], text="SECRET WORDS")
    parts = read_parts([body[i : i + 7] for i in range(0, len(body), 7)], b"xYzZY", 10**6)
    assert set(parts) == {"headers", "to", "from", "envelope", "subject"}
    assert b"SECRET WORDS" not in b"".join(parts.values())


def test_a_forged_or_unknown_token_matches_nothing(
    session: Session, sent: tuple[Letter, AcceptedMessage], live_url: str
) -> None:
    letter, _message = sent
    forged = letter.public_id + "0" * 16
    assert public_id_from_token(forged, TEST_SECRET) is None
    body = inbound_parse_body([f"reply+{forged}@{REPLY_DOMAIN}"])
    assert post_inbound_parse(live_url + INBOUND_PATH, body).status_code == 200
    unknown = reply_token("f" * 32, TEST_SECRET)
    body = inbound_parse_body([f"reply+{unknown}@{REPLY_DOMAIN}"])
    assert post_inbound_parse(live_url + INBOUND_PATH, body).status_code == 200
    assert replies(session, letter) == []


def test_a_reply_to_an_erased_letter_is_ignored(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
) -> None:
    letter, message = sent
    session.execute(update(Letter).where(Letter.id == letter.id).values(purged_at=utcnow()))
    session.commit()
    response = post_reply(message)
    assert response.status_code == 200
    assert replies(session, letter) == []


def test_no_reply_content_or_address_reaches_any_log_line(
    session: Session,
    sent: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    letter, message = sent
    secrets = [
        "Please keep Leeds libraries open",
        "Thank you for writing about libraries",
        "jo.bloggs.mp@parliament.uk",
        "ayesha@example.org",
        reply_token(letter.public_id, TEST_SECRET),
        letter.public_id,
        INBOUND_SECRET,
        "<reply-1@mail.parliament.uk>",
        "reply-1@mail",
    ]
    post_reply(
        message,
        subject="Re: Please keep Leeds libraries open",
        text="Thank you for writing about libraries",
    )
    post_reply(message, sample="raw", message_id="<r2@x>")
    post_reply(
        message,
        message_id="<r3@x>",
        extra_headers=("Auto-Submitted: auto-replied",),
    )
    assert len(replies(session, letter)) == 3
    logged = "\n".join(
        f"{record.getMessage()} {record.exc_text or ''}" for record in caplog.records
    )
    assert "inbound message" in logged
    for secret in secrets:
        assert secret not in logged
