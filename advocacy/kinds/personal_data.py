"""Nominations and letters written at events, as the retention registry sees them.

Petition and pledge signers are letters (see delivery.personal_data); printed letters keep
nothing but a count.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import EventLetter, Nomination, NominationState
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    delete_rows,
    rowcount,
)


def _nominated_by(subject: DataSubject) -> ColumnElement[bool]:
    by_digest = (Nomination.nominator_digest != "") & (
        Nomination.nominator_digest == subject.digest
    )
    by_email = (Nomination.nominator_email != "") & (
        func.lower(Nomination.nominator_email) == subject.email
    )
    return or_(by_digest, by_email)


def _find_nominations(session: Session, subject: DataSubject) -> int:
    return int(session.scalar(select(func.count(Nomination.id)).where(_nominated_by(subject))) or 0)


def _export_nominations(session: Session, subject: DataSubject) -> list[JSONRow]:
    return [
        {
            "nominated": n.detainee_name,
            "prison_address": n.prison_address,
            "story": n.story,
            "your_name": n.nominator_name,
            "your_email": n.nominator_email,
            "state": str(n.state),
            "sent_at": n.created_at.isoformat(),
        }
        for n in session.scalars(select(Nomination).where(_nominated_by(subject)))
    ]


def _erase_nominator(session: Session, *where: ColumnElement[bool]) -> int:
    return rowcount(
        session.execute(
            update(Nomination)
            .where(*where)
            .values(nominator_name="", nominator_email="", nominator_digest="")
            .execution_options(synchronize_session=False)
        )
    )


def _erase_nominations(session: Session, subject: DataSubject, now: datetime) -> int:
    return _erase_nominator(session, _nominated_by(subject))


def _expire_nominations(session: Session, settings: Settings, now: datetime) -> int:
    # Decided nominations lost their nominator at the decision; undecided ones do too once
    # they have waited as long as personal data may be kept.
    due = now - timedelta(days=settings.personal_data_retention_days)
    return _erase_nominator(
        session,
        Nomination.nominator_email != "",
        or_(Nomination.state != NominationState.PENDING, Nomination.created_at <= due),
    )


def _none(session: Session, subject: DataSubject) -> int:
    # Event letters hold a name and words, but no email address to find them by.
    return 0


def _export_none(session: Session, subject: DataSubject) -> list[JSONRow]:
    return []


def _erase_none(session: Session, subject: DataSubject, now: datetime) -> int:
    return 0


def _expire_event_letters(session: Session, settings: Settings, now: datetime) -> int:
    printed_due = now - timedelta(days=settings.letter_body_retention_days)
    written_due = now - timedelta(days=settings.personal_data_retention_days)
    return delete_rows(
        session,
        EventLetter,
        or_(EventLetter.printed_at <= printed_due, EventLetter.created_at <= written_due),
    )


TABLES = (
    PersonalDataTable(
        table="nominations",
        holds="nominations you sent: the detained person, the prison, your name and email",
        find=_find_nominations,
        export=_export_nominations,
        erase=_erase_nominations,
        expire=_expire_nominations,
        rules=(
            RetentionRule(
                setting="personal_data_retention_days",
                env="PERSONAL_DATA_RETENTION_DAYS",
                what="The name and email of someone who nominates a recipient",
                when=(
                    "as soon as the nomination is decided, and at most {n} {unit} after it is sent"
                ),
            ),
        ),
    ),
    PersonalDataTable(
        table="event_letters",
        holds="letters written at a letter-writing event, with the writer's name",
        find=_none,
        export=_export_none,
        erase=_erase_none,
        expire=_expire_event_letters,
        rules=(
            RetentionRule(
                setting="letter_body_retention_days",
                env="LETTER_BODY_RETENTION_DAYS",
                what="Letters written at a letter-writing event",
                when="{n} {unit} after the organisers print them",
            ),
        ),
    ),
)
