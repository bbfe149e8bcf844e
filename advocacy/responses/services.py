"""Recording detected replies: one conditional INSERT per letter named in a message."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Engine, String, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from advocacy.models import Campaign, Letter, LetterReply
from advocacy.responses.inbound import InboundReply
from advocacy.responses.tokens import public_id_from_token

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordReport:
    """What became of one inbound message (counts only, safe to log)."""

    recorded: int = 0
    ignored: int = 0  # a letter we do not know, one already erased, or a second post
    forged: int = 0  # tokens whose signature is wrong


_RECORD_SQL: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}


def _record_sql(engine: Engine) -> tuple[str, tuple[str, ...] | None]:
    """INSERT ... SELECT the letter by public id, skipping erased letters and duplicates.

    One statement, found through the unique index on public_id; a message already recorded
    for that letter hits the (letter_id, message_digest) constraint and inserts nothing.
    The arrival time is the database's clock, so every parameter is a plain string or
    boolean. It is compiled once per engine and run on a pooled DBAPI connection: this is
    the webhook's hot path, and SQLAlchemy's Connection and result objects cost more than
    SQLite's own insert and commit (see bench/inbound.py). Returns the SQL and, for
    positional paramstyles, the parameter order.
    """
    key = (engine.dialect.name, engine.dialect.paramstyle)
    cached = _RECORD_SQL.get(key)
    if cached is not None:
        return cached
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    letter = select(
        Letter.id,
        bindparam("digest", type_=String()),
        func.current_timestamp(),
        bindparam("is_automatic", type_=Boolean()),
        bindparam("is_from_mp", type_=Boolean()),
    ).where(
        Letter.public_id == bindparam("public_id"),
        Letter.purged_at.is_(None),
        Letter.sent_at.is_not(None),
    )
    statement = (
        insert(LetterReply)
        .from_select(
            ["letter_id", "message_digest", "received_at", "is_automatic", "is_from_mp"], letter
        )
        .on_conflict_do_nothing(index_elements=["letter_id", "message_digest"])
    )
    compiled = statement.compile(dialect=engine.dialect)
    order = tuple(compiled.positiontup) if compiled.positional and compiled.positiontup else None
    _RECORD_SQL[key] = (str(compiled), order)
    return _RECORD_SQL[key]


def record_reply(engine: Engine, reply: InboundReply, secret_key: str) -> RecordReport:
    """Record a detected reply for each letter it names, in one short transaction."""
    public_ids = []
    forged = 0
    for token in reply.tokens:
        public_id = public_id_from_token(token, secret_key)
        if public_id is None:
            forged += 1
        else:
            public_ids.append(public_id)
    if not public_ids:
        return RecordReport(forged=forged)
    sql, order = _record_sql(engine)
    recorded = 0
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        for public_id in public_ids:
            params: dict[str, Any] = {
                "public_id": public_id,
                "digest": reply.message_digest,
                "is_automatic": reply.is_automatic,
                "is_from_mp": reply.is_from_mp,
            }
            cursor.execute(sql, tuple(params[name] for name in order) if order else params)
            recorded += max(cursor.rowcount, 0)
        cursor.close()
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()
    return RecordReport(recorded=recorded, ignored=len(public_ids) - recorded, forged=forged)


def letter_by_public_id(session: Session, public_id: str) -> Letter | None:
    """The letter with this public id, if any."""
    return session.scalars(select(Letter).where(Letter.public_id == public_id)).first()


def campaign_by_slug(session: Session, slug: str) -> Campaign | None:
    """A campaign in any status (staff see drafts and closed campaigns too)."""
    return session.scalars(select(Campaign).where(Campaign.slug == slug)).first()
