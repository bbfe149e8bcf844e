"""Whether letters are going out: what the workers last wrote about themselves.

Workers run in other processes (often on other machines), so each keeps one row in
`worker_statuses` (see WorkerStatus): written when it starts, when it pauses or resumes, and
every few seconds as a heartbeat. `current_status()` reads those rows for `/healthz` and for
any page that should warn staff that sending has stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask import current_app
from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from advocacy.models import WorkerState, WorkerStatus, utcnow

# A worker is taken for dead once this many heartbeats in a row are missing.
MISSED_HEARTBEATS = 4


class SendingState(StrEnum):
    """The delivery system as a whole, as far as the database can tell."""

    SENDING = "sending"
    PAUSED = "paused"
    UNSEEN = "unseen"
    NO_WORKER_YET = "no_worker_yet"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendingStatus:
    """One answer to "are letters going out?", with a reason a person can act on."""

    state: SendingState
    reason: str | None = None
    since: datetime | None = None
    next_probe_at: datetime | None = None
    workers: int = 0

    @property
    def is_ok(self) -> bool:
        """False when sending is paused or no worker has been heard from lately.

        Before any worker has ever run there is nothing to compare with, so a web process
        started on its own (development, benchmarks) is not reported as broken.
        """
        return self.state in {SendingState.SENDING, SendingState.NO_WORKER_YET}

    def as_dict(self) -> dict[str, Any]:
        """The status as JSON-friendly values (no personal data in any of them)."""
        return {
            "state": str(self.state),
            "reason": self.reason,
            "since": self.since.isoformat() if self.since else None,
            "next_probe_at": self.next_probe_at.isoformat() if self.next_probe_at else None,
            "workers": self.workers,
        }


def _is_alive(row: WorkerStatus, now: datetime) -> bool:
    return row.heartbeat_at + timedelta(seconds=row.heartbeat_seconds * MISSED_HEARTBEATS) >= now


def current_status(session: Session, now: datetime | None = None) -> SendingStatus:
    """Whether letters are going out, and if not, why and since when."""
    now = now or utcnow()
    rows = session.scalars(select(WorkerStatus).order_by(WorkerStatus.heartbeat_at)).all()
    if not rows:
        return SendingStatus(SendingState.NO_WORKER_YET)
    alive = [row for row in rows if _is_alive(row, now)]
    paused = [row for row in alive if row.state == WorkerState.PAUSED]
    if paused:
        first = min(paused, key=lambda row: row.state_changed_at)
        probes = [row.next_probe_at for row in paused if row.next_probe_at is not None]
        return SendingStatus(
            SendingState.PAUSED,
            reason=f"sending is paused: {first.reason}",
            since=first.state_changed_at,
            next_probe_at=min(probes) if probes else None,
            workers=len(alive),
        )
    if alive:
        return SendingStatus(SendingState.SENDING, workers=len(alive))
    last = rows[-1]
    minutes = int((now - last.heartbeat_at).total_seconds() // 60)
    reason = (
        f"no delivery worker has been heard from since {last.heartbeat_at:%Y-%m-%d %H:%M} UTC "
        f"({minutes} min ago): letters and confirmation emails are waiting"
    )
    if last.state == WorkerState.PAUSED:
        reason += f"; the last one had paused sending: {last.reason}"
    return SendingStatus(SendingState.UNSEEN, reason=reason, since=last.heartbeat_at)


def cached_status(session: Session, max_age: float) -> SendingStatus:
    """current_status(), kept by this app for `max_age` seconds; an unreadable database is news.

    Each app keeps its own answer (in its extensions), so apps built side by side, as tests
    build them, never see each other's.
    """
    cache: dict[str, tuple[float, SendingStatus]] = current_app.extensions.setdefault(
        "sending_status", {}
    )
    now = time.monotonic()
    kept = cache.get("status")
    if kept is not None and now - kept[0] < max_age:
        return kept[1]
    try:
        answer = current_status(session)
    except SQLAlchemyError as exc:
        session.rollback()
        answer = SendingStatus(
            SendingState.UNKNOWN, reason=f"the database cannot be read ({type(exc).__name__})"
        )
    cache["status"] = (now, answer)
    return answer


# Written by the worker, each in its own short transaction ------------------------------------


def register(conn: Connection, owner: str, heartbeat_seconds: float) -> None:
    """Record a starting worker, and forget workers that died long enough ago.

    A restarted worker has a new owner name, so the row of the process it replaces would
    otherwise stay behind; rows are kept while they could still be the only sign of a worker
    that died, which stops mattering once this one is alive.
    """
    now = utcnow()
    rows = conn.execute(
        select(WorkerStatus.owner, WorkerStatus.heartbeat_at, WorkerStatus.heartbeat_seconds)
    ).all()
    dead = [
        row.owner
        for row in rows
        if row.heartbeat_at + timedelta(seconds=row.heartbeat_seconds * MISSED_HEARTBEATS) < now
    ]
    if dead:
        conn.execute(delete(WorkerStatus).where(WorkerStatus.owner.in_(dead)))
    conn.execute(
        insert(WorkerStatus).values(
            owner=owner,
            state=WorkerState.RUNNING,
            started_at=now,
            state_changed_at=now,
            heartbeat_at=now,
            heartbeat_seconds=heartbeat_seconds,
        )
    )


def beat(conn: Connection, owner: str) -> None:
    """Say this worker is still alive."""
    conn.execute(
        update(WorkerStatus).where(WorkerStatus.owner == owner).values(heartbeat_at=utcnow())
    )


def pause(conn: Connection, owner: str, reason: str, next_probe_at: datetime | None = None) -> None:
    """Record that this worker has paused sending, why, and when it will try again."""
    now = utcnow()
    conn.execute(
        update(WorkerStatus)
        .where(WorkerStatus.owner == owner, WorkerStatus.state != WorkerState.PAUSED)
        .values(state=WorkerState.PAUSED, state_changed_at=now)
    )
    conn.execute(
        update(WorkerStatus)
        .where(WorkerStatus.owner == owner)
        .values(reason=reason, next_probe_at=next_probe_at, heartbeat_at=now)
    )


def resume(conn: Connection, owner: str) -> None:
    """Record that this worker is sending again."""
    now = utcnow()
    conn.execute(
        update(WorkerStatus)
        .where(WorkerStatus.owner == owner)
        .values(
            state=WorkerState.RUNNING,
            reason=None,
            next_probe_at=None,
            state_changed_at=now,
            heartbeat_at=now,
        )
    )


def forget(conn: Connection, owner: str) -> None:
    """Remove the row of a worker that stopped because it was asked to."""
    conn.execute(delete(WorkerStatus).where(WorkerStatus.owner == owner))
