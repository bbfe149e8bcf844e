"""SendGrid Event Webhook: verify signed posts and apply delivery events to letters.

Events are applied once each (by `sg_event_id`), found by the idempotency key we sent in
`custom_args` (which SendGrid echoes as top-level keys of every event), and never move a
letter back: an event older than the newest one applied changes nothing, and the state
machine refuses the rest (a bounce is final; a deferral cannot follow a delivery).
"""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key, load_pem_public_key
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advocacy.delivery.compose import LETTER_KEY_ARG, NOTIFICATION_KEY_ARG
from advocacy.extensions import db
from advocacy.kinds import bundles
from advocacy.models import (
    LETTER_TRANSITIONS,
    Letter,
    LetterState,
    Notification,
    NotificationState,
    ProcessedEvent,
    utcnow,
)

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# A signed post older (or further in the future) than this is refused, so a captured post
# cannot be replayed later. SendGrid signs each delivery attempt when it makes it.
MAX_SIGNATURE_AGE = 600

EVENT_STATES = {
    "deferred": LetterState.DEFERRED,
    "delivered": LetterState.DELIVERED,
    "bounce": LetterState.BOUNCED,
    "dropped": LetterState.DROPPED,
}
# Events that prove SendGrid accepted the message (engagement events do too, but they are
# only ever sent for messages with tracking, which letters do not have).
ACCEPTANCE_EVENTS = frozenset({"processed", "deferred", "delivered", "bounce", "dropped"})


class InvalidWebhook(Exception):
    """A webhook post that is unsigned, wrongly signed or stale."""


@lru_cache(maxsize=4)
def load_public_key(value: str) -> ec.EllipticCurvePublicKey:
    """The verification key, as SendGrid shows it (base64 DER) or as PEM."""
    value = value.strip()
    try:
        if value.startswith("-----BEGIN"):
            key = load_pem_public_key(value.encode())
        else:
            key = load_der_public_key(base64.b64decode(value, validate=True))
    except (ValueError, binascii.Error) as exc:
        raise InvalidWebhook("the configured webhook public key cannot be read") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise InvalidWebhook("the configured webhook public key is not an EC key")
    return key


def verify_signature(public_key: str, signature: str, timestamp: str, payload: bytes) -> bool:
    """True if `signature` is the key's ECDSA P-256/SHA-256 signature of timestamp + payload."""
    try:
        der = base64.b64decode(signature, validate=True)
        load_public_key(public_key).verify(
            der, timestamp.encode() + payload, ec.ECDSA(hashes.SHA256())
        )
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def check_signed_request(
    public_key: str,
    signature: str | None,
    timestamp: str | None,
    payload: bytes,
    now: float,
    max_age: float = MAX_SIGNATURE_AGE,
) -> None:
    """Raise InvalidWebhook unless the post is signed, correctly, and recently."""
    if not signature or not timestamp:
        raise InvalidWebhook("unsigned")
    if not timestamp.strip().isdigit():
        raise InvalidWebhook("malformed timestamp")
    if abs(now - int(timestamp)) > max_age:
        raise InvalidWebhook("stale timestamp")
    if not verify_signature(public_key, signature, timestamp, payload):
        raise InvalidWebhook("bad signature")


@dataclass
class EventReport:
    """Counts of what a webhook post did; the response body, and safe to log."""

    applied: int = 0
    recorded: int = 0
    duplicate: int = 0
    stale: int = 0
    refused: int = 0
    unmatched: int = 0
    invalid: int = 0
    by_type: dict[str, int] = field(default_factory=dict)

    def count(self, outcome: str) -> None:
        """Add one event with this outcome."""
        setattr(self, outcome, getattr(self, outcome) + 1)


def apply_events(events: list[Any]) -> EventReport:
    """Apply a batch of events, each in its own transaction so one bad event spoils none."""
    report = EventReport()
    for event in events:
        if not isinstance(event, dict):
            report.count("invalid")
            continue
        event_type = str(event.get("event") or "")[:40]
        report.by_type[event_type] = report.by_type.get(event_type, 0) + 1
        try:
            with db.transaction() as session:
                outcome = apply_event(session, event)
        except IntegrityError:
            # The same event arrived twice at once; the other copy was applied.
            outcome = "duplicate"
        report.count(outcome)
    return report


def _event_time(event: dict[str, Any]) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["timestamp"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return utcnow()


def _find(session: Session, event: dict[str, Any]) -> Letter | Notification | None:
    """The letter or notification an event is about, locked for this transaction."""
    letter_key = event.get(LETTER_KEY_ARG)
    if isinstance(letter_key, str) and letter_key:
        return session.scalars(
            select(Letter).where(Letter.idempotency_key == letter_key).with_for_update(of=Letter)
        ).first()
    notification_key = event.get(NOTIFICATION_KEY_ARG)
    if isinstance(notification_key, str) and notification_key:
        return session.scalars(
            select(Notification)
            .where(Notification.idempotency_key == notification_key)
            .with_for_update(of=Notification)
        ).first()
    # Without our custom arguments, fall back to SendGrid's id: X-Message-Id is the part of
    # sg_message_id before the first dot (not on every dropped event, which then won't match).
    sg_message_id = event.get("sg_message_id")
    if isinstance(sg_message_id, str) and sg_message_id:
        prefix = sg_message_id.split(".", 1)[0]
        for model in (Letter, Notification):
            row = session.scalars(
                select(model).where(model.message_id == prefix).with_for_update(of=model)
            ).first()
            if row is not None:
                return cast(Letter | Notification, row)
    return None


def apply_event(session: Session, event: dict[str, Any]) -> str:
    """Apply one event inside the caller's transaction; return what happened to it."""
    event_id = event.get("sg_event_id")
    if not isinstance(event_id, str) or not event_id or len(event_id) > 128:
        return "invalid"
    if session.get(ProcessedEvent, event_id) is not None:
        return "duplicate"
    event_type = str(event.get("event") or "")[:40]
    bundle = bundles.find_for_event(session, event)
    if bundle is not None:
        session.add(ProcessedEvent(event_id=event_id, letter_id=None, event_type=event_type))
        session.flush()
        outcome = bundles.apply_event(bundle, event_type, _event_time(event))
        logger.info("bundle %d: %s event %s", bundle.id, event_type, outcome)
        return outcome
    row = _find(session, event)
    letter_id = row.id if isinstance(row, Letter) else (row.letter_id if row else None)
    # Recorded first: a concurrent copy of this event fails here, before changing anything.
    session.add(ProcessedEvent(event_id=event_id, letter_id=letter_id, event_type=event_type))
    session.flush()
    if row is None:
        logger.info("SendGrid %s event matches no letter or notification", event_type)
        return "unmatched"
    at = _event_time(event)
    if event_type in ACCEPTANCE_EVENTS:
        _catch_up(row, event, at)
    if isinstance(row, Notification):
        return "recorded"
    target = EVENT_STATES.get(event_type)
    if target is None:
        return "recorded"
    if row.last_event_at is not None and at < row.last_event_at:
        logger.info("letter %d: ignored an older %s event", row.id, event_type)
        return "stale"
    if target not in LETTER_TRANSITIONS[row.state]:
        logger.info("letter %d: no move from %s on a %s event", row.id, row.state, event_type)
        return "refused"
    reason = _reason(event_type, event)
    row.transition(target, at=at, reason=reason)
    if target == LetterState.DELIVERED:
        row.failure_reason = None
    row.last_event_at = at
    logger.info("letter %d is %s", row.id, target)
    return "applied"


def _reason(event_type: str, event: dict[str, Any]) -> str | None:
    """What the receiving server said, kept on the letter (never logged)."""
    parts = [str(event.get(key)) for key in ("reason", "response", "status") if event.get(key)]
    return f"{event_type}: {' '.join(parts)}"[:2000] if parts else None


def _catch_up(row: Letter | Notification, event: dict[str, Any], at: datetime) -> None:
    """Record as SENT a row SendGrid accepted but we did not know about.

    It happens when a worker stopped between SendGrid's 202 and its own commit, or when a
    timed-out request had in fact arrived; knowing it stops a retry that would duplicate.
    """
    states = LetterState if isinstance(row, Letter) else NotificationState
    paths = {
        "failed": ["queued", "sending", "sent"],
        "queued": ["sending", "sent"],
        "sending": ["sent"],
    }
    if isinstance(row, Letter):
        # Held because a second request may have arrived: SendGrid has now said one did.
        paths["held"] = ["queued", "sending", "sent"]
    path = paths.get(str(row.state))
    if not path:
        return
    logger.warning(
        "%s %d: SendGrid accepted it while we had it as %s; recorded as sent",
        type(row).__name__.lower(),
        row.id,
        row.state,
    )
    for name in path:
        row.transition(states(name), at=at)  # type: ignore[arg-type]
    row.lease_owner = None
    row.lease_expires_at = None
    row.next_attempt_at = None
    sg_message_id = event.get("sg_message_id")
    if row.message_id is None and isinstance(sg_message_id, str):
        row.message_id = sg_message_id.split(".", 1)[0][:128]
