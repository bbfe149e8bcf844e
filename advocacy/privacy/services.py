"""Export, erasure and retention over every table in the registry; owns the transactions."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.personal_data import subject_filter
from advocacy.models import Letter, Notification, NotificationKind, utcnow
from advocacy.privacy.registry import DataSubject, JSONRow, tables

# One link per address in this time, whoever asks: the form must not become a way to fill
# somebody's inbox (the per-address limit on the form stops one sender asking for many).
LINK_INTERVAL = timedelta(minutes=10)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Export:
    """Everything held about one address, table by table (empty tables left out)."""

    generated_at: datetime
    tables: dict[str, list[JSONRow]]
    holds: dict[str, str]

    @property
    def is_empty(self) -> bool:
        """True when nothing at all is held."""
        return not any(self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        """The JSON document a person downloads."""
        return {
            "generated_at": self.generated_at.isoformat(),
            "about": "Everything this site holds about your email address.",
            "data": {
                name: {"what": self.holds[name], "rows": rows} for name, rows in self.tables.items()
            },
        }


def held_counts(session: Session, subject: DataSubject) -> dict[str, int]:
    """How many rows each registered table holds about a person."""
    return {entry.table: entry.find(session, subject) for entry in tables()}


def export_person(session: Session, subject: DataSubject) -> Export:
    """Everything every registered table holds about a person."""
    found: dict[str, list[JSONRow]] = {}
    holds: dict[str, str] = {}
    for entry in tables():
        rows = entry.export(session, subject)
        if rows:
            found[entry.table] = rows
            holds[entry.table] = entry.holds
    return Export(generated_at=utcnow(), tables=found, holds=holds)


def erase_person(
    session: Session, subject: DataSubject, now: datetime | None = None
) -> dict[str, int]:
    """Erase a person from every registered table in one transaction; rows changed per table."""
    now = now or utcnow()
    try:
        erased = {entry.table: entry.erase(session, subject, now) for entry in tables()}
        session.commit()
    except Exception:
        session.rollback()
        raise
    logger.info("erased one person's data: %d rows", sum(erased.values()))
    return erased


def enforce_retention(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Apply every table's retention rules, each table in its own transaction; rows changed."""
    now = now or utcnow()
    total = 0
    for entry in tables():
        changed = entry.expire(session, settings, now)
        session.commit()
        if changed:
            logger.info("retention: %d rows of %s erased", changed, entry.table)
        total += changed
    return total


def request_link(session: Session, subject: DataSubject, now: datetime | None = None) -> bool:
    """Queue the signed link to the address, if we hold anything about it; True if queued.

    The link goes to the address of the person's latest letter: it is the address they
    typed, and a letter still holding an address is what makes them known at all (every
    other table's data about a person goes no later than their letters' does).
    """
    now = now or utcnow()
    letter_id = session.scalar(
        select(Letter.id)
        .where(subject_filter(subject), Letter.purged_at.is_(None), Letter.sender_email != "")
        .order_by(Letter.id.desc())
        .limit(1)
    )
    if letter_id is None:
        return False
    recent = session.scalar(
        select(Notification.id)
        .join(Letter, Letter.id == Notification.letter_id)
        .where(
            subject_filter(subject),
            Notification.kind == NotificationKind.PRIVACY_LINK,
            Notification.created_at > now - LINK_INTERVAL,
        )
        .limit(1)
    )
    if recent is not None:
        return False
    session.add(
        Notification(letter_id=letter_id, kind=NotificationKind.PRIVACY_LINK, next_attempt_at=now)
    )
    session.commit()
    return True
