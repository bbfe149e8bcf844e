"""Consents to hear from a partner organisation, as the retention registry sees them.

A consent holds the person's name and address for the partner. Erasing it blanks both and
the keyed hash (the consent still counts for the partner's figures, with no link to the
person); a consent older than PERSONAL_DATA_RETENTION_DAYS is blanked the same way, and one
never confirmed goes when its letter's link expires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, literal, or_, select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import CONFIRMATION_WINDOW
from advocacy.models import Campaign, Partner, PartnerConsent
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    delete_rows,
    rowcount,
)

ERASED_PREFIX = "erased-"


def _of(subject: DataSubject) -> Any:
    return or_(
        PartnerConsent.email_digest == subject.digest,
        and_(PartnerConsent.email != "", func.lower(PartnerConsent.email) == subject.email),
    )


def _blank(session: Session, *where: Any) -> int:
    return rowcount(
        session.execute(
            update(PartnerConsent)
            .where(*where, ~PartnerConsent.email_digest.startswith(ERASED_PREFIX))
            .values(
                name="",
                email="",
                email_digest=literal(ERASED_PREFIX) + cast(PartnerConsent.id, String),
            )
            .execution_options(synchronize_session=False)
        )
    )


def _find(session: Session, subject: DataSubject) -> int:
    count = session.scalar(select(func.count(PartnerConsent.id)).where(_of(subject)))
    return int(count or 0)


def _export(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.execute(
        select(PartnerConsent, Partner.name, Campaign.title)
        .join(Partner, Partner.id == PartnerConsent.partner_id)
        .join(Campaign, Campaign.id == PartnerConsent.campaign_id)
        .where(_of(subject))
        .order_by(PartnerConsent.id)
    )
    return [
        {
            "partner": partner,
            "campaign": campaign,
            "you_agreed_to": consent.wording.text,
            "name": consent.name,
            "email": consent.email,
            "given_at": consent.created_at.isoformat(),
            "confirmed_at": consent.confirmed_at.isoformat() if consent.confirmed_at else None,
        }
        for consent, partner, campaign in rows
    ]


def _erase(session: Session, subject: DataSubject, now: datetime) -> int:
    return _blank(session, _of(subject))


def _expire(session: Session, settings: Settings, now: datetime) -> int:
    unconfirmed_due = (
        now - CONFIRMATION_WINDOW - timedelta(hours=settings.unconfirmed_retention_hours)
    )
    dropped = delete_rows(
        session,
        PartnerConsent,
        PartnerConsent.confirmed_at.is_(None),
        PartnerConsent.created_at <= unconfirmed_due,
    )
    due = now - timedelta(days=settings.personal_data_retention_days)
    return dropped + _blank(session, PartnerConsent.created_at <= due)


TABLES = (
    PersonalDataTable(
        table="partner_consents",
        holds="your agreement to hear from a partner organisation, with your name and email",
        find=_find,
        export=_export,
        erase=_erase,
        expire=_expire,
        rules=(
            RetentionRule(
                setting="personal_data_retention_days",
                env="PERSONAL_DATA_RETENTION_DAYS",
                what="Your name and email given to a partner organisation",
                when="are erased here {n} {unit} after you agreed (or with your letter, if "
                "you never confirmed it)",
            ),
        ),
    ),
)
