"""Letters and the system emails about them, as the retention registry sees them.

A letter passes through three erasures, each on its own setting:

* its words (subject, body, the person's own words, and their fingerprints) go
  LETTER_BODY_RETENTION_DAYS after its delivery settled;
* a letter never confirmed loses everything UNCONFIRMED_RETENTION_HOURS after its link
  expired;
* everything else about the person (name, email, address, postcode, the keyed hash of the
  email) goes PERSONAL_DATA_RETENTION_DAYS after delivery settled, and never later than that
  long after it was written, whatever its state.

The row itself stays, blanked, with its campaign, recipient, constituency and state dates:
those are the counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import CONFIRMATION_WINDOW
from advocacy.delivery.queue import PURGEABLE_STATES
from advocacy.models import Letter, LetterFingerprint, LetterState, Notification
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    delete_rows,
    rowcount,
)

CHUNK = 500

# The reason of a held letter edited in review and sent back to its writer.
AWAITING_WRITER = "awaiting the writer: edited in review"

ERASED_ON_REQUEST = "erased at the writer's request"
ERASED_BY_RETENTION = "erased: kept as long as the retention policy allows"

# The states a letter leaves when its personal data goes before it was sent.
_STOPPED = {
    LetterState.AWAITING_CONFIRMATION: LetterState.EXPIRED,
    LetterState.QUEUED: LetterState.FAILED,
    LetterState.HELD: LetterState.FAILED,
}

WORDS = {"personal_text": "", "subject": "", "body_text": ""}


def subject_filter(subject: DataSubject) -> ColumnElement[bool]:
    """The letters of a person: by the keyed hash, or by the address itself."""
    return or_(
        Letter.email_digest == subject.digest,
        and_(Letter.sender_email != "", func.lower(Letter.sender_email) == subject.email),
    )


def letter_ids(session: Session, subject: DataSubject) -> list[int]:
    """The ids of a person's letters that still hold anything about them."""
    return list(
        session.scalars(
            select(Letter.id).where(subject_filter(subject), Letter.purged_at.is_(None))
        )
    )


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def erase_letters(session: Session, ids: Sequence[int], now: datetime, reason: str) -> int:
    """Erase everything personal of these letters; stop the ones not yet sent."""
    erased = 0
    for chunk in _chunks(ids):
        session.execute(delete(LetterFingerprint).where(LetterFingerprint.letter_id.in_(chunk)))
        session.execute(delete(Notification).where(Notification.letter_id.in_(chunk)))
        for state, stopped in _STOPPED.items():
            values = Letter.transition_values(state, stopped, now)
            session.execute(
                update(Letter)
                .where(Letter.id.in_(chunk), Letter.state == state)
                .values(**values, next_attempt_at=None, lease_owner=None)
                .execution_options(synchronize_session=False)
            )
        result = session.execute(
            update(Letter)
            .where(Letter.id.in_(chunk), Letter.purged_at.is_(None))
            .values(
                **WORDS,
                sender_name="",
                sender_email="",
                sender_address="",
                sender_postcode="",
                email_digest="",
                # A reason may quote the letter ("cannot compose: ..."), and the provider's
                # message id would find the address in the provider's own records.
                failure_reason=reason,
                message_id=None,
                purged_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        erased += rowcount(result)
    return erased


def _find(session: Session, subject: DataSubject) -> int:
    return len(letter_ids(session, subject))


def _export(session: Session, subject: DataSubject) -> list[JSONRow]:
    letters = session.scalars(
        select(Letter)
        .where(subject_filter(subject), Letter.purged_at.is_(None))
        .order_by(Letter.id)
    )
    return [
        {
            "reference": letter.public_id,
            "campaign": letter.campaign.title,
            "state": str(letter.state),
            "written_at": _iso(letter.created_at),
            "sent_at": _iso(letter.sent_at),
            "delivered_at": _iso(letter.delivered_at),
            "to": letter.recipient_name,
            "constituency": letter.constituency_name,
            "name": letter.sender_name,
            "email": letter.sender_email,
            "address": letter.sender_address,
            "postcode": letter.sender_postcode,
            "your_words": letter.personal_text,
            "subject": letter.subject,
            "body": letter.body_text,
            "words_erased": not (letter.personal_text or letter.subject or letter.body_text),
        }
        for letter in letters
    ]


def _erase(session: Session, subject: DataSubject, now: datetime) -> int:
    return erase_letters(session, letter_ids(session, subject), now, ERASED_ON_REQUEST)


def _expire(session: Session, settings: Settings, now: datetime) -> int:
    unconfirmed_due = now - timedelta(hours=settings.unconfirmed_retention_hours)
    all_due = now - timedelta(days=settings.personal_data_retention_days)
    everything = select(Letter.id).where(
        Letter.purged_at.is_(None),
        or_(
            and_(Letter.state == LetterState.EXPIRED, Letter.expired_at <= unconfirmed_due),
            # An edit sent back to its writer is a letter unconfirmed again, with a link of
            # the same lifetime.
            and_(
                Letter.state == LetterState.HELD,
                Letter.failure_reason == AWAITING_WRITER,
                Letter.state_changed_at <= unconfirmed_due - CONFIRMATION_WINDOW,
            ),
            and_(Letter.state.in_(PURGEABLE_STATES), Letter.state_changed_at <= all_due),
            # At the latest: a letter stuck in any state but mid-request is erased anyway.
            and_(Letter.state != LetterState.SENDING, Letter.created_at <= all_due),
        ),
    )
    gone = erase_letters(session, list(session.scalars(everything)), now, ERASED_BY_RETENTION)
    words_due = now - timedelta(days=settings.letter_body_retention_days)
    words = select(Letter.id).where(
        Letter.purged_at.is_(None),
        Letter.state.in_(PURGEABLE_STATES),
        Letter.state_changed_at <= words_due,
        or_(Letter.personal_text != "", Letter.subject != "", Letter.body_text != ""),
    )
    ids = list(session.scalars(words))
    for chunk in _chunks(ids):
        session.execute(delete(LetterFingerprint).where(LetterFingerprint.letter_id.in_(chunk)))
        session.execute(
            update(Letter)
            .where(Letter.id.in_(chunk))
            .values(**WORDS)
            .execution_options(synchronize_session=False)
        )
    return gone + len(ids)


def _notification_rows(subject: DataSubject) -> ColumnElement[bool]:
    return Notification.letter_id.in_(
        select(Letter.id).where(subject_filter(subject), Letter.purged_at.is_(None))
    )


def _find_notifications(session: Session, subject: DataSubject) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Notification).where(_notification_rows(subject))
        )
        or 0
    )


def _export_notifications(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.scalars(
        select(Notification).where(_notification_rows(subject)).order_by(Notification.id)
    )
    return [
        {
            "letter": n.letter.public_id if n.letter else None,
            "kind": str(n.kind),
            "state": str(n.state),
            "created_at": _iso(n.created_at),
            "sent_at": _iso(n.sent_at),
        }
        for n in rows
    ]


def _erase_notifications(session: Session, subject: DataSubject, now: datetime) -> int:
    return delete_rows(session, Notification, _notification_rows(subject))


def _expire_notifications(session: Session, settings: Settings, now: datetime) -> int:
    # Letters erased on an earlier pass take their system emails with them; this catches
    # any left behind (a notification queued while its letter was being erased).
    erased = select(Letter.id).where(Letter.purged_at.is_not(None))
    return delete_rows(session, Notification, Notification.letter_id.in_(erased))


LETTER_RULES = (
    RetentionRule(
        setting="letter_body_retention_days",
        env="LETTER_BODY_RETENTION_DAYS",
        what="The words of your letter (its subject, its text and your own words)",
        when="are erased {n} {unit} after it is delivered",
        when_zero="are erased as soon as it is delivered",
    ),
    RetentionRule(
        setting="unconfirmed_retention_hours",
        env="UNCONFIRMED_RETENTION_HOURS",
        what="A letter you never confirm",
        when="is erased {n} {unit} after its confirmation link expires",
        unit="hours",
        when_zero="is erased, with everything you gave us, when its confirmation link expires",
    ),
    RetentionRule(
        setting="personal_data_retention_days",
        env="PERSONAL_DATA_RETENTION_DAYS",
        what="Your name, email address, postal address and postcode",
        when=(
            "are erased {n} {unit} after your letter is delivered, and never kept longer "
            "than {n} {unit} after you wrote it"
        ),
    ),
)

TABLES = (
    PersonalDataTable(
        table="letters",
        holds="your letters: your name, email, address, postcode, your words and the letter",
        find=_find,
        export=_export,
        erase=_erase,
        expire=_expire,
        rules=LETTER_RULES,
    ),
    PersonalDataTable(
        table="notifications",
        holds="the confirmation and reminder emails we sent you (when, not their text)",
        find=_find_notifications,
        export=_export_notifications,
        erase=_erase_notifications,
        expire=_expire_notifications,
        rules=LETTER_RULES[1:],
        # Found through the letter, so erased before it.
        order=50,
    ),
)
