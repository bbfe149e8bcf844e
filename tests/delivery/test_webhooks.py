"""The signed Event Webhook: verification, mapping, idempotency and event ordering."""

from __future__ import annotations

import base64
import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.events import verify_signature
from advocacy.models import (
    Campaign,
    Letter,
    LetterState,
    Notification,
    NotificationState,
    ProcessedEvent,
)
from tests.conftest import make_settings
from tests.delivery.helpers import add_queued, add_submitted, make_worker, reload
from tests.fakes.fixtures import load_contract
from tests.fakes.sendgrid import FakeSendGrid

URL = "/webhooks/sendgrid/events"
VECTOR = load_contract("sendgrid", "signed_event_webhook_test_vector.json")
PRIVATE_KEY = ec.generate_private_key(ec.SECP256R1())
PUBLIC_KEY = base64.b64encode(
    PRIVATE_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()


def events(name: str) -> list[dict[str, Any]]:
    """A copy of a recorded event payload."""
    return copy.deepcopy(load_contract("sendgrid", f"event_webhook/{name}.json"))


def signed_headers(body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers SendGrid would send with this body, signed with our test key."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = PRIVATE_KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        "Content-Type": "application/json",
    }


def post(client: FlaskClient, payload: list[dict[str, Any]]) -> Any:
    body = json.dumps(payload).encode() + b"\r\n"
    return client.post(URL, data=body, headers=signed_headers(body))


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_sendgrid: FakeSendGrid) -> Settings:
    """Settings with the webhook key configured."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "SENDGRID_WEBHOOK_PUBLIC_KEY": PUBLIC_KEY,
        },
    )


@pytest.fixture
def sent_letter(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> Letter:
    """A letter the worker has handed to the fake SendGrid."""
    [letter] = add_queued(session, campaign)
    make_worker(settings, fake_sendgrid).run(once=True)
    sent = reload(session, letter)
    assert sent.state == LetterState.SENT
    return sent


def about(letter: Letter, payload: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    """Events re-addressed to a letter, by the custom argument SendGrid echoes back."""
    for event in payload:
        event.pop("anymail_id", None)
        event["letter_key"] = letter.idempotency_key
        event["kind"] = "letter"
        event.update(extra)
    return payload


# Signature ------------------------------------------------------------------------------------


def test_official_test_vector_verifies() -> None:
    payload = VECTOR["payload"].encode()
    assert verify_signature(VECTOR["public_key"], VECTOR["signature"], VECTOR["timestamp"], payload)


@pytest.mark.parametrize(
    "case", ["other_public_key", "other_signature", "bad_timestamp", "bad_payload", "no_crlf"]
)
def test_official_negative_cases_fail(case: str) -> None:
    negative = VECTOR["negative_cases"]
    key, signature, stamp = VECTOR["public_key"], VECTOR["signature"], VECTOR["timestamp"]
    payload = VECTOR["payload"].encode()
    if case == "other_public_key":
        key = negative["other_public_key"]
    elif case == "other_signature":
        signature = negative["other_signature"]
    elif case == "bad_timestamp":
        stamp = negative["bad_timestamp"]
    elif case == "bad_payload":
        payload = negative["bad_payload"].encode()
    else:
        payload = payload.rstrip(b"\r\n")
    assert not verify_signature(key, signature, stamp, payload)


def test_fresh_signed_post_is_accepted(client: FlaskClient) -> None:
    response = post(client, events("anymail_delivered"))
    assert response.status_code == 200
    assert response.json["unmatched"] == 1


def test_official_vector_is_refused_as_stale(app: Flask, client: FlaskClient) -> None:
    app.config["SETTINGS"] = make_settings(
        app.config["DATABASE_URL"],
        Path(app.instance_path),
        env={"SENDGRID_WEBHOOK_PUBLIC_KEY": VECTOR["public_key"]},
    )
    response = client.post(
        URL,
        data=VECTOR["payload"].encode(),
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": VECTOR["signature"],
            "X-Twilio-Email-Event-Webhook-Timestamp": VECTOR["timestamp"],
        },
    )
    assert response.status_code == 403


def test_stale_post_is_refused(client: FlaskClient, session: Session) -> None:
    body = json.dumps(events("anymail_delivered")).encode()
    response = client.post(URL, data=body, headers=signed_headers(body, int(time.time()) - 3600))
    assert response.status_code == 403
    assert response.json["error"]["code"] == "invalid_signature"
    assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 0


def test_future_post_is_refused(client: FlaskClient) -> None:
    body = json.dumps(events("anymail_delivered")).encode()
    response = client.post(URL, data=body, headers=signed_headers(body, int(time.time()) + 3600))
    assert response.status_code == 403


def test_unsigned_post_is_refused(client: FlaskClient) -> None:
    response = client.post(URL, json=events("anymail_delivered"))
    assert response.status_code == 403


def test_tampered_body_is_refused(client: FlaskClient) -> None:
    body = json.dumps(events("anymail_delivered")).encode()
    headers = signed_headers(body)
    response = client.post(URL, data=body.replace(b"delivered", b"bounce"), headers=headers)
    assert response.status_code == 403


def test_unconfigured_key_refuses_with_a_retryable_error(app: Flask, client: FlaskClient) -> None:
    app.config["SETTINGS"] = make_settings(app.config["DATABASE_URL"], Path(app.instance_path))
    body = json.dumps(events("anymail_delivered")).encode()
    assert client.post(URL, data=body, headers=signed_headers(body)).status_code == 503


def test_signed_body_that_is_not_a_list_is_a_400(client: FlaskClient) -> None:
    body = b'{"event": "delivered"}'
    assert client.post(URL, data=body, headers=signed_headers(body)).status_code == 400


# Mapping and state ------------------------------------------------------------------------------


def test_events_move_the_letter_found_by_custom_args(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    deferred = about(sent_letter, events("anymail_deferred"))
    delivered = about(sent_letter, events("anymail_delivered"), timestamp=1461200999)
    assert post(client, deferred).json["applied"] == 1
    letter = reload(session, sent_letter)
    assert letter.state == LetterState.DEFERRED
    assert letter.deferred_at is not None
    assert letter.deferred_at.timestamp() == 1461200990
    assert post(client, delivered).json["applied"] == 1
    letter = reload(session, sent_letter)
    assert letter.state == LetterState.DELIVERED
    assert letter.delivered_at is not None
    assert letter.delivered_at.timestamp() == 1461200999


def test_bounce_keeps_the_reason(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    post(client, about(sent_letter, events("anymail_bounce")))
    letter = reload(session, sent_letter)
    assert letter.state == LetterState.BOUNCED
    assert "5.1.1" in (letter.failure_reason or "")


@pytest.mark.parametrize(
    "name",
    [
        "anymail_dropped_invalid",
        "anymail_dropped_unsubscribed_address",
        "anymail_dropped_bounced_address",
    ],
)
def test_dropped_events_drop_the_letter(
    client: FlaskClient, session: Session, sent_letter: Letter, name: str
) -> None:
    post(client, about(sent_letter, events(name)))
    letter = reload(session, sent_letter)
    assert letter.state == LetterState.DROPPED
    assert letter.failure_reason is not None


def test_each_event_is_applied_once(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    payload = about(sent_letter, events("anymail_deferred"))
    assert post(client, payload).json["applied"] == 1
    again = post(client, payload).json
    assert again["applied"] == 0
    assert again["duplicate"] == 1
    assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 1


def test_docs_sample_shares_one_placeholder_event_id(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    payload = about(sent_letter, events("docs_sample_all_event_types"))
    report = post(client, payload).json
    # Every docs sample has sg_event_id "sg_event_id": only the first is new.
    assert report["duplicate"] == len(payload) - 1
    assert reload(session, sent_letter).state == LetterState.SENT


def test_older_event_never_overwrites_a_newer_state(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    delivered = about(sent_letter, events("anymail_delivered"), timestamp=2_000_000_000)
    post(client, delivered)
    older_bounce = about(sent_letter, events("anymail_bounce"), timestamp=1_999_999_000)
    assert post(client, older_bounce).json["stale"] == 1
    older_deferral = about(sent_letter, events("anymail_deferred"), timestamp=1_999_999_500)
    assert post(client, older_deferral).json["stale"] == 1
    letter = reload(session, sent_letter)
    assert letter.state == LetterState.DELIVERED
    # A later bounce still counts: servers can accept a message and bounce it afterwards.
    newer_bounce = about(
        sent_letter, events("anymail_bounce"), timestamp=2_000_000_100, sg_event_id="later"
    )
    assert post(client, newer_bounce).json["applied"] == 1
    assert reload(session, sent_letter).state == LetterState.BOUNCED


def test_events_after_a_final_state_are_refused(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    post(client, about(sent_letter, events("anymail_bounce"), timestamp=2_000_000_000))
    late = about(sent_letter, events("anymail_delivered"), timestamp=2_000_000_500)
    assert post(client, late).json["refused"] == 1
    assert reload(session, sent_letter).state == LetterState.BOUNCED


def test_engagement_events_change_nothing(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    payload = about(sent_letter, events("anymail_open") + events("anymail_click"))
    payload += about(
        sent_letter,
        events("docs_sample_spamreport") + events("docs_sample_unsubscribe"),
    )
    for i, event in enumerate(payload):
        event["sg_event_id"] = f"engagement-{i}"
    report = post(client, payload).json
    assert report["recorded"] == 4
    assert reload(session, sent_letter).state == LetterState.SENT


def test_event_without_custom_args_is_found_by_message_id(
    client: FlaskClient, session: Session, sent_letter: Letter
) -> None:
    payload = events("anymail_delivered_no_custom_args")
    prefix = payload[0]["sg_message_id"].split(".")[0]
    sent_letter.message_id = prefix
    session.commit()
    assert post(client, payload).json["applied"] == 1
    assert reload(session, sent_letter).state == LetterState.DELIVERED


def test_acceptance_event_for_an_unfinished_letter_stops_a_duplicate(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    # A worker died after SendGrid's 202 but before its commit; the letter was requeued.
    [letter] = add_queued(session, campaign)
    letter.is_possible_duplicate = True
    session.commit()
    payload = about(letter, events("anymail_delivered"))
    assert post(client, payload).json["applied"] == 1
    caught_up = reload(session, letter)
    assert caught_up.state == LetterState.DELIVERED
    assert caught_up.sent_at is not None
    assert caught_up.message_id == "wrfRRvF7Q0GgwUo2CvDmEA"
    make_worker(settings, fake_sendgrid).run(once=True)
    assert fake_sendgrid.request_count == 0


def test_notification_events_are_recorded(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_submitted(session, campaign)
    make_worker(settings, fake_sendgrid).run(once=True)
    [accepted] = fake_sendgrid.accepted
    payload = events("anymail_delivered")
    payload[0].pop("anymail_id")
    payload[0].update(accepted.custom_args())
    assert post(client, payload).json["recorded"] == 1
    [notification] = session.scalars(select(Notification)).all()
    assert notification.state == NotificationState.SENT
    [event] = session.scalars(select(ProcessedEvent)).all()
    assert event.letter_id == notification.letter_id


def test_large_signed_batches_are_accepted(client: FlaskClient) -> None:
    # SendGrid batches events; a batch can be far larger than the app's form limit.
    payload = [copy.deepcopy(events("anymail_delivered")[0]) for _ in range(700)]
    for i, event in enumerate(payload):
        event["sg_event_id"] = f"bulk-{i}"
    body = json.dumps(payload).encode()
    assert len(body) > 256 * 1024
    response = client.post(URL, data=body, headers=signed_headers(body))
    assert response.status_code == 200
    assert response.json["unmatched"] == 700
