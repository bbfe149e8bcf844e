"""The postcode cache, as the retention registry sees it.

The cache maps postcodes to constituencies and says nothing about who looked one up; but
beside a letter's date a cached postcode could point at a person, so erasing a person's
letters also drops their postcodes from the cache (the next look-up asks postcodes.io
again), and every entry goes POSTCODE_CACHE_DAYS after it was looked up.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.personal_data import subject_filter
from advocacy.models import Letter, PostcodeCacheEntry
from advocacy.privacy.registry import (
    DataSubject,
    JSONRow,
    PersonalDataTable,
    RetentionRule,
    delete_rows,
)


def _postcodes(session: Session, subject: DataSubject) -> list[str]:
    found = session.scalars(
        select(Letter.sender_postcode).where(subject_filter(subject), Letter.sender_postcode != "")
    )
    variants: set[str] = set()
    for postcode in found:
        compact = "".join(postcode.split()).upper()
        variants.update({postcode, compact, f"{compact[:-3]} {compact[-3:]}"})
    return sorted(variants)


def _find(session: Session, subject: DataSubject) -> int:
    postcodes = _postcodes(session, subject)
    if not postcodes:
        return 0
    count = session.scalar(
        select(func.count())
        .select_from(PostcodeCacheEntry)
        .where(PostcodeCacheEntry.postcode.in_(postcodes))
    )
    return int(count or 0)


def _export(session: Session, subject: DataSubject) -> list[JSONRow]:
    postcodes = _postcodes(session, subject)
    rows = session.scalars(
        select(PostcodeCacheEntry).where(PostcodeCacheEntry.postcode.in_(postcodes))
    )
    return [{"postcode": row.postcode, "constituency_code": row.constituency_code} for row in rows]


def _erase(session: Session, subject: DataSubject, now: datetime) -> int:
    postcodes = _postcodes(session, subject)
    if not postcodes:
        return 0
    return delete_rows(session, PostcodeCacheEntry, PostcodeCacheEntry.postcode.in_(postcodes))


def _expire(session: Session, settings: Settings, now: datetime) -> int:
    due = now - timedelta(days=settings.postcode_cache_days)
    return delete_rows(session, PostcodeCacheEntry, PostcodeCacheEntry.looked_up_at <= due)


TABLES = (
    PersonalDataTable(
        table="postcode_cache",
        holds="the constituency of your postcode, cached without anything about you",
        find=_find,
        export=_export,
        erase=_erase,
        expire=_expire,
        rules=(
            RetentionRule(
                setting="postcode_cache_days",
                env="POSTCODE_CACHE_DAYS",
                what="Postcodes we looked up (with no link to a letter or a person)",
                when="are kept {n} {unit} to save asking postcodes.io again",
            ),
        ),
        # It finds the postcodes through the letters, so it goes before them.
        order=10,
    ),
)
