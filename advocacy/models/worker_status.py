"""What each running delivery worker last said about itself, for /healthz and staff pages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class WorkerState(StrEnum):
    """Whether a worker is sending, or has paused sending until SendGrid takes its key."""

    RUNNING = "running"
    PAUSED = "paused"


class WorkerStatus(Base):
    """One worker process: its state, why it paused, and when it was last heard from.

    The web process cannot see a worker's memory, so each worker writes this row: at start,
    on every change of state and every `heartbeat_seconds` while it lives. A row whose
    heartbeat is overdue belongs to a worker that died without saying so. Reasons are the
    worker's own words about SendGrid and never carry personal data.
    """

    __tablename__ = "worker_statuses"

    owner: Mapped[str] = mapped_column(String(80), primary_key=True)
    state: Mapped[WorkerState] = mapped_column(String(16), default=WorkerState.RUNNING)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_seconds: Mapped[float] = mapped_column(default=15.0)
    next_probe_at: Mapped[datetime | None] = mapped_column(default=None)
