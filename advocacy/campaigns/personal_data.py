"""Signatures, as the retention registry sees them: the counts that outlive every letter.

A signature holds no address, only a keyed hash of it (so one person signs a campaign once)
beside the campaign, constituency and date. Erasing it replaces the hash with a marker
derived from the row's own id: the count stays, and nothing links it to the person.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, func, literal, select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import Campaign, Signature
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    rowcount,
)

ERASED_PREFIX = "erased-"


def _scrub(session: Session, *where: object) -> int:
    return rowcount(
        session.execute(
            update(Signature)
            .where(*where, ~Signature.email_digest.startswith(ERASED_PREFIX))  # type: ignore[arg-type]
            .values(email_digest=literal(ERASED_PREFIX) + cast(Signature.id, String))
            .execution_options(synchronize_session=False)
        )
    )


def _find(session: Session, subject: DataSubject) -> int:
    return int(
        session.scalar(
            select(func.count(Signature.id)).where(Signature.email_digest == subject.digest)
        )
        or 0
    )


def _export(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.execute(
        select(Campaign.title, Signature.constituency_code, Signature.created_at)
        .join(Campaign, Campaign.id == Signature.campaign_id)
        .where(Signature.email_digest == subject.digest)
        .order_by(Signature.id)
    )
    return [
        {"campaign": title, "constituency_code": code, "counted_at": at.isoformat()}
        for title, code, at in rows
    ]


def _erase(session: Session, subject: DataSubject, now: datetime) -> int:
    return _scrub(session, Signature.email_digest == subject.digest)


def _expire(session: Session, settings: Settings, now: datetime) -> int:
    due = now - timedelta(days=settings.personal_data_retention_days)
    return _scrub(session, Signature.created_at <= due)


TABLES = (
    PersonalDataTable(
        table="signatures",
        holds=(
            "that you were counted on a campaign, with your constituency and the date "
            "(kept as a count; the link to your email address is erased)"
        ),
        find=_find,
        export=_export,
        erase=_erase,
        expire=_expire,
        rules=(
            RetentionRule(
                setting="personal_data_retention_days",
                env="PERSONAL_DATA_RETENTION_DAYS",
                what="The link between your email address and the count of a campaign",
                when="is erased {n} {unit} after you were counted; the count itself stays",
            ),
        ),
    ),
)
