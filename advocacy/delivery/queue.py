"""The delivery queue: letters and notifications are their own queue rows.

A row is queued in the same transaction as the change that queues it, so nothing is queued
that was not saved and nothing saved is forgotten. Workers take rows with a lease:

* `claim` leases due rows (on PostgreSQL with FOR UPDATE SKIP LOCKED, so workers never wait
  for each other) and leaves them QUEUED: a leased row whose worker dies is simply due again
  when the lease expires.
* `start` moves one row to SENDING just before its request, in its own committed
  transaction. SENDING therefore means "a request may be in flight", and only such a row can
  have reached SendGrid without us knowing.
* `recover_abandoned` requeues SENDING rows whose lease expired, flagged as possible
  duplicates: the window for a duplicate is the one request in flight, and it is marked.

Every UPDATE is conditional on the state and the lease owner, so a worker that lost its lease
can never overwrite another worker's result.
"""

from __future__ import annotations

import functools
import logging
import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    Connection,
    Insert,
    Table,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, make_transient_to_detached

from advocacy.config import ConfigurationError
from advocacy.delivery.compose import CONFIRMATION_WINDOW, REMINDER_AFTER
from advocacy.models import (
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    NotificationState,
    utcnow,
)

logger = logging.getLogger(__name__)

QueueModel = type[Letter] | type[Notification]

# Letters whose delivery is over, one way or another; their personal data is purged after
# the retention period. SENT and DEFERRED are included because a letter may never get a
# webhook event, and personal data must not outlive the retention period for want of one.
PURGEABLE_STATES = (
    LetterState.SENT,
    LetterState.DELIVERED,
    LetterState.DEFERRED,
    LetterState.BOUNCED,
    LetterState.DROPPED,
    LetterState.FAILED,
    LetterState.EXPIRED,
)

# Claims that apply the per-MP cap take this PostgreSQL advisory lock, so two workers cannot
# both see the same free slot. It is held only for the claim transaction.
CAP_LOCK_KEY = 0x4D5043  # "MPC"

# Where the cap or window leaves a letter waiting and no slot time is known, look again soon.
CAP_RECHECK = timedelta(minutes=1)

TWICE_IN_FLIGHT = (
    "held for review: two requests for this letter may have reached SendGrid; it is sent "
    "automatically if SendGrid reports it, else check its letter_key in SendGrid's activity "
    "before queueing it again"
)


def _states(model: QueueModel) -> type[StrEnum]:
    return LetterState if model is Letter else NotificationState


def _state(model: QueueModel, name: str) -> Any:
    return _states(model)(name)


# The journey's entry points ----------------------------------------------------------------


def submit_letter(session: Session, letter: Letter) -> Notification:
    """Save an unsaved letter awaiting confirmation and queue its confirmation email.

    Both INSERTs join the caller's transaction; the caller commits. The two objects come
    back detached, with their ids: add them to a session to change them later.
    """
    if letter.state != LetterState.AWAITING_CONFIRMATION:
        raise ValueError(f"a new letter must await confirmation, not be {letter.state}")
    now = utcnow()
    letter.awaiting_confirmation_at = now
    letter.state_changed_at = now
    _insert(session, letter)
    notification = Notification(
        letter_id=letter.id, kind=NotificationKind.CONFIRMATION, next_attempt_at=now
    )
    _insert(session, notification)
    return notification


def _insert(session: Session, row: Letter | Notification) -> None:
    """INSERT a new row through Core on the session's connection; leave the object detached.

    This is the busiest write path, and the ORM's unit of work cost more than the two
    statements themselves. Only columns that carry a value are sent: a new row leaves most
    of its timestamps and delivery columns NULL, and processing those bind parameters was
    a large part of each INSERT (SQLAlchemy caches one compiled statement per set of keys).
    The object is not put in the session: a letter refers to the campaign that the process
    caches and shares (see campaigns.services.get_campaign), which must stay out of it.
    """
    table = type(row).__table__
    state = row.__dict__
    sent, nullable = _insert_columns(table)
    values = {key: state.get(key) for key in sent}
    values.update((key, state[key]) for key in nullable if state.get(key) is not None)
    row.id = session.connection().execute(_insert_statement(table), values).scalar_one()
    make_transient_to_detached(row)


@functools.cache
def _insert_columns(table: Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns always sent, and those left out while NULL (NULL is their default)."""
    columns = [column for column in table.columns if not column.primary_key]
    nullable = tuple(c.key for c in columns if c.default is None and c.server_default is None)
    return tuple(c.key for c in columns if c.key not in nullable), nullable


@functools.cache
def _insert_statement(table: Table) -> Insert:
    return insert(table).returning(table.c.id)


def queue_letter(session: Session, letter: Letter) -> None:
    """Queue a confirmed (or held) letter for sending, in the caller's transaction."""
    now = utcnow()
    letter.transition(LetterState.QUEUED, at=now)
    letter.next_attempt_at = now
    letter.lease_owner = None
    letter.lease_expires_at = None
    session.add(letter)


# Sending window and per-MP cap ------------------------------------------------------------

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*(\S+)?\s*$")


@dataclass(frozen=True)
class SendingWindow:
    """Local hours in which letters to MPs go out; system emails are never held back."""

    start: time
    end: time
    zone: ZoneInfo

    def is_open(self, now: datetime) -> bool:
        """True when `now` falls inside the window (which may wrap past midnight)."""
        local = now.astimezone(self.zone).time().replace(tzinfo=None)
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_open(self, now: datetime) -> datetime:
        """The next moment the window opens (now, if it is open)."""
        if self.is_open(now):
            return now
        local = now.astimezone(self.zone)
        candidate = local.replace(
            hour=self.start.hour, minute=self.start.minute, second=0, microsecond=0
        )
        if candidate <= local:
            candidate += timedelta(days=1)
        return candidate.astimezone(now.tzinfo)


def parse_sending_window(value: str) -> SendingWindow | None:
    """Parse "HH:MM-HH:MM [Area/City]" (UK time by default); empty means always open."""
    if not value or not value.strip():
        return None
    match = _WINDOW.match(value)
    if not match:
        raise ConfigurationError(
            f"SENDING_WINDOW must look like 08:00-20:00 or 08:00-20:00 Europe/London, not {value!r}"
        )
    h1, m1, h2, m2, zone_name = match.groups()
    try:
        start, end = time(int(h1), int(m1)), time(int(h2), int(m2))
        zone = ZoneInfo(zone_name or "Europe/London")
    except (ValueError, ZoneInfoNotFoundError) as exc:
        raise ConfigurationError(f"SENDING_WINDOW {value!r} is not a valid window") from exc
    if start == end:
        raise ConfigurationError("SENDING_WINDOW must not start and end at the same time")
    return SendingWindow(start=start, end=end, zone=zone)


@dataclass(frozen=True)
class ClaimPolicy:
    """What a claim may take: how many, for how long, and the politeness limits."""

    lease: timedelta
    mp_hourly_cap: int = 0
    window: SendingWindow | None = None


# Claiming ----------------------------------------------------------------------------------


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _due(model: QueueModel, now: datetime) -> Any:
    return (
        (model.state == _state(model, "queued"))
        & or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now)
        & or_(model.lease_expires_at.is_(None), model.lease_expires_at < now)
    )


def recover_abandoned(session: Session, model: QueueModel, now: datetime) -> int:
    """Requeue rows left SENDING by a worker whose lease expired, flagged possible duplicates.

    A letter that was already flagged may now be at SendGrid twice: it is held for review
    instead, so no letter can go a third time. The webhook releases it as soon as SendGrid
    reports the message (see events._catch_up).
    """
    abandoned = (model.state == _state(model, "sending")) & (model.lease_expires_at < now)
    cleared = {"lease_owner": None, "lease_expires_at": None}
    held = 0
    if model is Letter:
        values = Letter.transition_values(LetterState.SENDING, LetterState.HELD, now)
        result = session.execute(
            update(Letter)
            .where(abandoned, Letter.is_possible_duplicate.is_(True))
            .values(**values, **cleared, next_attempt_at=None, failure_reason=TWICE_IN_FLIGHT)
            .execution_options(synchronize_session=False)
        )
        held = int(getattr(result, "rowcount", 0) or 0)
    values = model.transition_values(_state(model, "sending"), _state(model, "queued"), now)
    result = session.execute(
        update(model)
        .where(abandoned)
        .values(**values, **cleared, is_possible_duplicate=True, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.warning(
            "requeued %d %s left in flight by a stopped worker; flagged as possible duplicates",
            count,
            model.__tablename__,
        )
    if held:
        logger.warning(
            "held %d letters for review: a second request for each may have reached SendGrid",
            held,
        )
    return count + held


def claim(
    session: Session,
    model: QueueModel,
    owner: str,
    limit: int,
    policy: ClaimPolicy,
    now: datetime | None = None,
) -> list[int]:
    """Lease up to `limit` due rows of one table to `owner`; return their ids.

    Runs in the caller's transaction, which should commit at once so the lease is visible.
    """
    now = now or utcnow()
    if limit <= 0:
        return []
    capped = model is Letter and policy.mp_hourly_cap > 0
    if model is Letter and policy.window is not None and not policy.window.is_open(now):
        return []
    postgres = _is_postgresql(session)
    if capped and postgres:
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CAP_LOCK_KEY})
    # With a cap, look further ahead so one flooded inbox cannot starve the others.
    fetch = limit * 4 if capped else limit
    candidates = (
        select(model.id, Letter.recipient_email if model is Letter else model.id)
        .where(_due(model, now))
        .order_by(model.next_attempt_at, model.id)
        .limit(fetch)
    )
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True, of=model)
    rows = session.execute(candidates).all()
    if not rows:
        return []
    if capped:
        ids = _apply_cap(session, rows, limit, policy.mp_hourly_cap, now)
    else:
        ids = [row[0] for row in rows]
    if not ids:
        return []
    result = session.execute(
        update(model)
        .where(model.id.in_(ids), _due(model, now))
        .values(lease_owner=owner, lease_expires_at=now + policy.lease)
        .returning(model.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(int(row[0]) for row in result)


def _apply_cap(
    session: Session, rows: Sequence[Any], limit: int, cap: int, now: datetime
) -> list[int]:
    """Choose the candidates that fit each inbox's hourly cap; make the rest wait."""
    hour_ago = now - timedelta(hours=1)
    recipients = {row[1] for row in rows if row[1]}
    used: dict[str, int] = defaultdict(int)
    oldest: dict[str, datetime] = {}
    if recipients:
        busy = or_(
            Letter.sent_at >= hour_ago,
            Letter.state == LetterState.SENDING,
            (Letter.state == LetterState.QUEUED) & (Letter.lease_expires_at >= now),
        )
        counted = session.execute(
            select(
                Letter.recipient_email,
                func.count(Letter.id),
                func.min(Letter.sent_at).filter(Letter.sent_at >= hour_ago),
            )
            .where(Letter.recipient_email.in_(recipients), busy)
            .group_by(Letter.recipient_email)
        ).all()
        for recipient, count, first_sent in counted:
            if recipient is None:
                continue
            used[recipient] = int(count)
            if first_sent is not None:
                # SQLite hands aggregates back without the column type's conversion.
                oldest[recipient] = _aware(first_sent)
    chosen: list[int] = []
    waiting: dict[datetime, list[int]] = defaultdict(list)
    for letter_id, recipient in rows:
        if not recipient:
            if len(chosen) < limit:
                chosen.append(letter_id)
            continue
        if used[recipient] < cap:
            if len(chosen) < limit:
                chosen.append(letter_id)
                used[recipient] += 1
            continue
        first = oldest.get(recipient)
        free_at = first + timedelta(hours=1) if first else now + CAP_RECHECK
        waiting[max(free_at, now + timedelta(seconds=1))].append(letter_id)
    for when, letter_ids in waiting.items():
        session.execute(
            update(Letter)
            .where(Letter.id.in_(letter_ids), Letter.state == LetterState.QUEUED)
            .values(next_attempt_at=when)
            .execution_options(synchronize_session=False)
        )
    if waiting:
        logger.info(
            "hourly cap: %d letters wait for a free slot",
            sum(len(ids) for ids in waiting.values()),
        )
    return chosen


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


# One row's life in a worker ------------------------------------------------------------------


def start(conn: Connection, model: QueueModel, row_id: int, owner: str, lease: timedelta) -> bool:
    """Mark a leased row SENDING just before its request; False if the lease was lost."""
    now = utcnow()
    values = model.transition_values(_state(model, "queued"), _state(model, "sending"), now)
    result = conn.execute(
        update(model)
        .where(
            model.id == row_id,
            model.state == _state(model, "queued"),
            model.lease_owner == owner,
        )
        .values(**values, attempts=model.attempts + 1, lease_expires_at=now + lease)
    )
    return result.rowcount == 1


def _finish(
    conn: Connection, model: QueueModel, row_id: int, owner: str, values: dict[str, Any]
) -> bool:
    result = conn.execute(
        update(model)
        .where(
            model.id == row_id,
            model.state == _state(model, "sending"),
            model.lease_owner == owner,
        )
        .values(**values, lease_owner=None, lease_expires_at=None)
    )
    return result.rowcount == 1


def mark_sent(
    conn: Connection, model: QueueModel, row_id: int, owner: str, message_id: str | None
) -> bool:
    """Record SendGrid's acceptance; False if the row was taken from us meanwhile."""
    now = utcnow()
    values = model.transition_values(_state(model, "sending"), _state(model, "sent"), now)
    if _finish(
        conn,
        model,
        row_id,
        owner,
        {**values, "message_id": message_id, "next_attempt_at": None, "failure_reason": None},
    ):
        return True
    # Our lease expired while the request was out: another worker may be sending it again.
    conn.execute(
        update(model)
        .where(model.id == row_id, model.message_id.is_(None))
        .values(message_id=message_id)
    )
    conn.execute(
        update(model)
        .where(
            model.id == row_id,
            model.state.in_([_state(model, "queued"), _state(model, "sending")]),
        )
        .values(is_possible_duplicate=True)
    )
    return False


def mark_retry(
    conn: Connection,
    model: QueueModel,
    row_id: int,
    owner: str,
    *,
    at: datetime,
    reason: str,
    maybe_accepted: bool = False,
    refund_attempt: bool = False,
) -> bool:
    """Put a row back in the queue for another attempt at `at`."""
    values: dict[str, Any] = model.transition_values(
        _state(model, "sending"), _state(model, "queued"), utcnow()
    )
    values.update(next_attempt_at=at, failure_reason=reason)
    if maybe_accepted:
        values["is_possible_duplicate"] = True
    if refund_attempt:
        # A 429 or a refused key says nothing about this message: it does not count.
        values["attempts"] = model.attempts - 1
    return _finish(conn, model, row_id, owner, values)


def mark_held(conn: Connection, row_id: int, owner: str, reason: str) -> bool:
    """Hold a letter for review instead of risking a third copy."""
    values = Letter.transition_values(LetterState.SENDING, LetterState.HELD, utcnow())
    return _finish(
        conn,
        Letter,
        row_id,
        owner,
        {**values, "failure_reason": reason, "next_attempt_at": None},
    )


def mark_failed(conn: Connection, model: QueueModel, row_id: int, owner: str, reason: str) -> bool:
    """Give up on a row, keeping the reason."""
    values = model.transition_values(_state(model, "sending"), _state(model, "failed"), utcnow())
    return _finish(
        conn, model, row_id, owner, {**values, "failure_reason": reason, "next_attempt_at": None}
    )


def release(session: Session | Connection, owner: str) -> int:
    """Give back every row `owner` leased but did not start (on shutdown or a refused key)."""
    total = 0
    for model in (Notification, Letter):
        result = session.execute(
            update(model)
            .where(model.lease_owner == owner, model.state == _state(model, "queued"))
            .values(lease_owner=None, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        )
        total += int(getattr(result, "rowcount", 0) or 0)
    return total


# Maintenance ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaintenanceReport:
    """What one maintenance pass did (counts only)."""

    reminded: int = 0
    expired: int = 0
    purged: int = 0


def queue_reminders(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Queue one reminder for each letter unconfirmed for over a day; stamp reminded_at."""
    now = now or utcnow()
    ids = session.scalars(
        select(Letter.id)
        .where(
            Letter.state == LetterState.AWAITING_CONFIRMATION,
            Letter.reminded_at.is_(None),
            Letter.awaiting_confirmation_at <= now - REMINDER_AFTER,
            Letter.awaiting_confirmation_at > now - CONFIRMATION_WINDOW,
        )
        .order_by(Letter.id)
        .limit(limit)
    ).all()
    count = 0
    for letter_id in ids:
        # Conditional, so two workers cannot both remind the same person.
        stamped = session.execute(
            update(Letter)
            .where(
                Letter.id == letter_id,
                Letter.reminded_at.is_(None),
                Letter.state == LetterState.AWAITING_CONFIRMATION,
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(stamped, "rowcount", 0) == 1:
            session.add(
                Notification(
                    letter_id=letter_id, kind=NotificationKind.REMINDER, next_attempt_at=now
                )
            )
            count += 1
    return count


def expire_unconfirmed(session: Session, now: datetime | None = None) -> int:
    """Expire letters that waited longer than the confirmation window."""
    now = now or utcnow()
    values = Letter.transition_values(LetterState.AWAITING_CONFIRMATION, LetterState.EXPIRED, now)
    result = session.execute(
        update(Letter)
        .where(
            Letter.state == LetterState.AWAITING_CONFIRMATION,
            Letter.awaiting_confirmation_at <= now - CONFIRMATION_WINDOW,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
