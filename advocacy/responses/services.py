"""Recording detected replies: one conditional INSERT per letter named in a message."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Insert, String, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from advocacy.models import Campaign, Letter, LetterReply, utcnow
from advocacy.models.base import UTCDateTime
from advocacy.responses.inbound import InboundReply
from advocacy.responses.tokens import public_id_from_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordReport:
    """What became of one inbound message (counts only, safe to log)."""

    recorded: int = 0
    ignored: int = 0  # a letter we do not know, one already erased, or a second post
    forged: int = 0  # tokens whose signature is wrong


@functools.cache
def _record_statement(dialect: str) -> Insert:
    """INSERT ... SELECT the letter by public id, skipping erased letters and duplicates.

    One statement, found through the unique index on public_id; a message already recorded
    for that letter hits the (letter_id, message_digest) constraint and inserts nothing.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    letter = select(
        Letter.id,
        bindparam("digest", type_=String()),
        bindparam("received_at", type_=UTCDateTime()),
        bindparam("is_automatic", type_=Boolean()),
        bindparam("is_from_mp", type_=Boolean()),
    ).where(
        Letter.public_id == bindparam("public_id"),
        Letter.purged_at.is_(None),
        Letter.sent_at.is_not(None),
    )
    return (
        insert(LetterReply)
        .from_select(
            ["letter_id", "message_digest", "received_at", "is_automatic", "is_from_mp"], letter
        )
        .on_conflict_do_nothing(index_elements=["letter_id", "message_digest"])
    )


def record_reply(
    session: Session, reply: InboundReply, secret_key: str, now: datetime | None = None
) -> RecordReport:
    """Record a detected reply for each letter it names; the caller commits."""
    now = now or utcnow()
    statement = _record_statement(session.get_bind().dialect.name)
    recorded = ignored = forged = 0
    for token in reply.tokens:
        public_id = public_id_from_token(token, secret_key)
        if public_id is None:
            forged += 1
            continue
        params: dict[str, Any] = {
            "public_id": public_id,
            "digest": reply.message_digest,
            "received_at": now,
            "is_automatic": reply.is_automatic,
            "is_from_mp": reply.is_from_mp,
        }
        result = session.connection().execute(statement, params)
        if result.rowcount == 1:
            recorded += 1
        else:
            ignored += 1
    return RecordReport(recorded=recorded, ignored=ignored, forged=forged)


def letter_by_public_id(session: Session, public_id: str) -> Letter | None:
    """The letter with this public id, if any."""
    return session.scalars(select(Letter).where(Letter.public_id == public_id)).first()


def campaign_by_slug(session: Session, slug: str) -> Campaign | None:
    """A campaign in any status (staff see drafts and closed campaigns too)."""
    return session.scalars(select(Campaign).where(Campaign.slug == slug)).first()
