"""Fingerprints of letters' words, as the retention registry sees them.

They hold keyed hashes, never words, but they belong to a letter and go with its words.
The letters' own rules delete them on the same passes; this entry lets an export say they
exist and lets the completeness test see the table is covered.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.personal_data import LETTER_RULES, subject_filter
from advocacy.models import Letter, LetterFingerprint
from advocacy.privacy.registry import DataSubject, JSONRow, PersonalDataTable, delete_rows


def _of_subject(subject: DataSubject) -> object:
    return LetterFingerprint.letter_id.in_(select(Letter.id).where(subject_filter(subject)))


def _find(session: Session, subject: DataSubject) -> int:
    count = session.scalar(
        select(func.count()).select_from(LetterFingerprint).where(_of_subject(subject))  # type: ignore[arg-type]
    )
    return int(count or 0)


def _export(session: Session, subject: DataSubject) -> list[JSONRow]:
    rows = session.execute(
        select(Letter.public_id, func.count())
        .select_from(LetterFingerprint)
        .join(Letter, Letter.id == LetterFingerprint.letter_id)
        .where(_of_subject(subject))  # type: ignore[arg-type]
        .group_by(Letter.public_id)
    )
    return [{"letter": public_id, "fingerprints": int(n)} for public_id, n in rows]


def _erase(session: Session, subject: DataSubject, now: datetime) -> int:
    return delete_rows(session, LetterFingerprint, _of_subject(subject))


def _expire(session: Session, settings: Settings, now: datetime) -> int:
    # Any left behind by a letter whose words were erased some other way.
    gone = select(Letter.id).where(
        or_(
            Letter.purged_at.is_not(None),
            (Letter.personal_text == "") & (Letter.body_text == ""),
        )
    )
    return delete_rows(session, LetterFingerprint, LetterFingerprint.letter_id.in_(gone))


TABLES = (
    PersonalDataTable(
        table="letter_fingerprints",
        holds="keyed fingerprints of your words, used to spot copied letters (never the words)",
        find=_find,
        export=_export,
        erase=_erase,
        expire=_expire,
        rules=LETTER_RULES[:1],
        order=50,
    ),
)
