"""The delivery worker: claims due letters and notifications and sends them concurrently.

One main thread claims and composes; a bounded pool of threads sends, each on its own pooled
connection. Every outcome is written with a conditional UPDATE in its own short transaction,
so a worker stopped at any instant leaves nothing that another worker cannot finish.

When SendGrid refuses the API key (401, 403) the worker pauses instead of exiting: it gives
back what it had claimed, claims nothing more, and asks SendGrid about the key with one
sandbox request at a growing interval until the key is taken again, then carries on. It
keeps its row in `worker_statuses` (see delivery.status) current all the while, so `/healthz`
can tell a paused or vanished worker from a working one.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast

from flask import current_app
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import QueuePool

from advocacy.db import make_engine
from advocacy.delivery import queue, status
from advocacy.delivery.compose import (
    compose_letter,
    compose_notification,
    notification_is_moot,
)
from advocacy.delivery.mail import (
    MailAuthError,
    MailBackend,
    OutgoingEmail,
    PermanentMailError,
    RateLimited,
    TransientMailError,
)
from advocacy.extensions import db
from advocacy.models import (
    Letter,
    LetterState,
    Notification,
    NotificationState,
    utcnow,
)

if TYPE_CHECKING:
    from advocacy.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter for transient failures, then give up."""

    max_attempts: int = 8
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        # "Equal jitter": never less than half the backoff, so retries cannot bunch up
        # at zero, and spread over the other half, so workers do not retry in lockstep.
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class Job:
    """One leased row and the email composed for it."""

    model: queue.QueueModel
    id: int
    email: OutgoingEmail

    @property
    def label(self) -> str:
        """How logs name the row: its table and id, nothing personal."""
        return f"{'letter' if self.model is Letter else 'notification'} {self.id}"


@dataclass
class WorkerReport:
    """What a worker did (counts only, safe to log)."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0
    cancelled: int = 0
    rate_limited: int = 0
    lost: int = 0
    reminded: int = 0
    expired: int = 0
    purged: int = 0
    probes: int = 0
    auth_failed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, count: int = 1) -> None:
        """Add to a counter, from any thread."""
        with self._lock:
            setattr(self, name, getattr(self, name) + count)

    def summary(self) -> str:
        """One line of counts."""
        return (
            f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, "
            f"{self.held} held, {self.cancelled} cancelled, {self.rate_limited} rate-limited, "
            f"{self.lost} lost to another worker; maintenance: {self.reminded} reminders, "
            f"{self.expired} expired, {self.purged} purged"
        )


def worker_id() -> str:
    """A lease owner name unique to this process, and readable in the database."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Claims due rows in batches with a lease and sends them with bounded concurrency."""

    def __init__(
        self,
        settings: Settings,
        backend: MailBackend,
        *,
        concurrency: int | None = None,
        batch_size: int | None = None,
        lease_seconds: float | None = None,
        poll_seconds: float | None = None,
        retry: RetryPolicy | None = None,
        maintenance_every: float = 60.0,
        owner: str | None = None,
        heartbeat_seconds: float = 15.0,
        probe_first_seconds: float = 10.0,
        probe_cap_seconds: float = 300.0,
    ) -> None:
        self.settings = settings
        self.backend = backend
        self.concurrency = max(1, concurrency or settings.worker_concurrency)
        self.batch_size = max(1, batch_size or settings.worker_batch_size)
        self.lease = timedelta(seconds=lease_seconds or settings.worker_lease_seconds)
        self.poll_seconds = (
            poll_seconds if poll_seconds is not None else settings.worker_poll_seconds
        )
        self.retry = retry or RetryPolicy()
        self.maintenance_every = maintenance_every
        self.owner = owner or worker_id()
        self.heartbeat_seconds = max(0.1, heartbeat_seconds)
        # While the key is refused, it is tried again after 10 s, 20 s, 40 s... and then
        # every five minutes: a fixed key is noticed soon, a revoked one costs little.
        self.probe_first_seconds = probe_first_seconds
        self.probe_cap_seconds = probe_cap_seconds
        self.policy = queue.ClaimPolicy(
            lease=self.lease,
            mp_hourly_cap=settings.mp_hourly_cap,
            window=queue.parse_sending_window(settings.sending_window),
        )
        self.report = WorkerReport()
        self._stop = threading.Event()
        # Set while SendGrid refuses the key: nothing is claimed or started until it is
        # cleared by a successful check of the key.
        self._auth_refused = threading.Event()
        self._auth_reason = ""
        self._pause_lock = threading.Lock()
        self._paused_until = 0.0
        self._last_maintenance = float("-inf")
        self._last_heartbeat = float("-inf")
        self._loop_thread: threading.Thread | None = None
        # Until one request gets an answer other than "bad key", requests go one at a time,
        # so a revoked key costs one request, not one per thread.
        self._key_proven = threading.Event()
        self._probe = threading.Lock()
        if db.engine is None:
            raise RuntimeError("database is not configured")
        self._engine: Engine = db.engine
        if isinstance(db.engine.pool, QueuePool):
            # One pooled connection per sending thread: the app's pool is sized for web
            # requests, and a smaller one would open and close a connection per letter.
            self._engine = make_engine(
                db.engine.url.render_as_string(hide_password=False),
                pool_size=self.concurrency + 1,
                max_overflow=2,
            )

    # Control ---------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the worker to finish the requests in flight, release the rest and return."""
        self._stop.set()

    def _halted(self) -> bool:
        """True when nothing more may be started: stopping, or the key is refused."""
        return self._stop.is_set() or self._auth_refused.is_set()

    def _pause(self, until: float) -> None:
        with self._pause_lock:
            self._paused_until = max(self._paused_until, until)

    def _wait_for_rate_limit(self) -> None:
        """Sleep until SendGrid's rate limit resets, waking early on shutdown."""
        while not self._halted():
            remaining = self._paused_until - time.time()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 1.0))
            if threading.current_thread() is self._loop_thread:
                self._heartbeat()

    def _sleep(self, seconds: float) -> None:
        """Wait on the main loop, keeping the heartbeat going; wake early on shutdown."""
        deadline = time.monotonic() + seconds
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, 1.0, self.heartbeat_seconds))
            self._heartbeat()

    # Worker status (read by /healthz) ----------------------------------------------------

    def _status(self, action: Callable[[Any], Any]) -> None:
        """Write this worker's status row; a failure is logged, never fatal to sending."""
        try:
            self._write(action)
        except Exception as exc:
            logger.warning("worker %s could not record its status (%s)", self.owner, exc)

    def _heartbeat(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_heartbeat >= self.heartbeat_seconds:
            self._last_heartbeat = now
            self._status(lambda conn: status.beat(conn, self.owner))

    # The loop --------------------------------------------------------------------------

    def run(self, once: bool = False) -> WorkerReport:
        """Send until stopped (or, with `once`, until nothing is due); return the counts."""
        logger.info(
            "worker %s starting: concurrency %d, batch %d, lease %ds",
            self.owner,
            self.concurrency,
            self.batch_size,
            int(self.lease.total_seconds()),
        )
        # A worker picks up template changes when restarted; checking every template file's
        # modification time for every email costs more than composing it.
        current_app.jinja_env.auto_reload = False
        self._loop_thread = threading.current_thread()
        self._status(lambda conn: status.register(conn, self.owner, self.heartbeat_seconds))
        self._last_heartbeat = time.monotonic()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="delivery")
        outstanding: set[Future[None]] = set()
        try:
            self._maintain()
            while not self._stop.is_set():
                self._heartbeat()
                if self._auth_refused.is_set():
                    # Jobs not yet started return at once; the ones in flight finish.
                    wait(outstanding)
                    self._collect(outstanding)
                    outstanding = set()
                    self._release()
                    if once:
                        self._status(
                            functools.partial(
                                status.pause, owner=self.owner, reason=self._auth_reason
                            )
                        )
                        break
                    self._probe_until_accepted()
                    continue
                self._wait_for_rate_limit()
                if self._halted():
                    continue
                claimed = 0
                # Keep a backlog, so threads never wait while this thread claims and composes.
                if len(outstanding) < 2 * self.concurrency:
                    jobs = self._claim(self.batch_size)
                    claimed = len(jobs)
                    outstanding.update(pool.submit(self._deliver, job) for job in jobs)
                if outstanding:
                    done, pending = wait(
                        outstanding, timeout=self.poll_seconds or None, return_when=FIRST_COMPLETED
                    )
                    outstanding = set(pending)
                    self._collect(done)
                    continue
                if claimed == 0:
                    if once and self._paused_until <= time.time():
                        break
                    self._maintain()
                    self._sleep(self.poll_seconds)
        finally:
            # Requests in flight finish and are recorded; jobs not yet started are dropped
            # here and their rows released below, so another worker can take them at once.
            pool.shutdown(wait=True, cancel_futures=True)
            self._collect(outstanding)
            self._release()
            close = getattr(self.backend, "close", None)
            if callable(close):
                close()
        if self._auth_refused.is_set():
            # Only `once` ends with the key refused: the row stays, saying why.
            self.report.auth_failed = True
        else:
            # Asked to stop, so not missing: its row would otherwise read as a dead worker.
            self._status(lambda conn: status.forget(conn, self.owner))
        if self._engine is not db.engine:
            self._engine.dispose()
        logger.info("worker %s stopped: %s", self.owner, self.report.summary())
        return self.report

    def _release(self) -> None:
        released = self._write(lambda conn: queue.release(conn, self.owner))
        if released:
            logger.info("worker %s released %d rows it had not started", self.owner, released)

    # A refused API key ---------------------------------------------------------------------

    def _key_refused(self, exc: MailAuthError) -> None:
        """Pause sending (from any thread); the main loop then checks the key until it works."""
        with self._pause_lock:
            first = not self._auth_refused.is_set()
            self._auth_reason = str(exc)
            self._auth_refused.set()
            self._key_proven.clear()
        if first:
            logger.critical(
                "SENDGRID REFUSED THE API KEY (HTTP %s): sending is paused, nothing is lost and "
                "the key is checked again until it works. Check SENDGRID_API_KEY and its Mail "
                "Send permission; no restart is needed.",
                exc.status,
            )

    def _probe_until_accepted(self) -> None:
        """Check the key at a growing interval until SendGrid takes it, or the worker stops."""
        paused_at = time.monotonic()
        delay = self.probe_first_seconds
        while not self._stop.is_set():
            next_at = utcnow() + timedelta(seconds=delay)
            self._status(
                functools.partial(
                    status.pause, owner=self.owner, reason=self._auth_reason, next_probe_at=next_at
                )
            )
            logger.error(
                "sending paused: %s; checking the key again in %gs", self._auth_reason, delay
            )
            self._maintain()
            self._sleep(delay)
            if self._stop.is_set():
                return
            delay = min(delay * 2, self.probe_cap_seconds)
            self.report.add("probes")
            try:
                self._check_key()
            except MailAuthError as exc:
                self._auth_reason = str(exc)
                continue
            except Exception as exc:
                # SendGrid down or slow says nothing about the key: keep waiting.
                logger.warning("checking the API key failed (%s); will try again", exc)
                continue
            with self._pause_lock:
                self._auth_refused.clear()
                self._key_proven.set()
            self._status(lambda conn: status.resume(conn, self.owner))
            logger.warning(
                "SendGrid takes the API key again: sending resumed after %.0fs paused",
                time.monotonic() - paused_at,
            )
            return

    def _check_key(self) -> None:
        """Ask the backend whether the key works without sending anything."""
        check = getattr(self.backend, "check_key", None)
        if callable(check):
            check(self.settings.mail_from)

    def _collect(self, futures: set[Future[None]]) -> None:
        for future in futures:
            if future.cancelled():
                continue
            exc = future.exception()
            if exc is not None:
                # The row stays SENDING until its lease expires, then is retried (flagged).
                logger.error("a delivery thread failed: %s", type(exc).__name__)

    # Claiming and composing -----------------------------------------------------------

    def _claim(self, limit: int) -> list[Job]:
        """Lease due notifications first (people are waiting for them), then letters."""
        now = utcnow()
        with db.transaction() as session:
            for model in (Notification, Letter):
                queue.recover_abandoned(session, model, now)
        jobs: list[Job] = []
        for model in (Notification, Letter):
            remaining = limit - len(jobs)
            if remaining <= 0:
                break
            with db.transaction() as session:
                ids = queue.claim(session, model, self.owner, remaining, self.policy, now)
            if ids:
                jobs.extend(self._compose(model, ids))
        return jobs

    def _compose(self, model: queue.QueueModel, ids: list[int]) -> list[Job]:
        jobs = []
        with db.transaction() as session:
            rows = session.scalars(
                select(model).where(
                    model.id.in_(ids),
                    model.lease_owner == self.owner,
                    model.state == queue._state(model, "queued"),
                )
            ).all()
            for row in cast(Sequence[Letter | Notification], rows):
                email = self._compose_one(row)
                if email is not None:
                    jobs.append(Job(model, row.id, email))
        return jobs

    def _compose_one(self, row: Letter | Notification) -> OutgoingEmail | None:
        """The email for a row, or None when the row was settled here instead."""
        try:
            if isinstance(row, Notification):
                if notification_is_moot(row):
                    row.transition(NotificationState.CANCELLED)
                    self._unlease(row)
                    self.report.add("cancelled")
                    return None
                return compose_notification(row, self.settings)
            if row.purged_at is not None:
                raise ValueError("the letter's personal data has been purged")
            return compose_letter(row, self.settings)
        except Exception as exc:
            # The message may quote the letter, so only the type is logged.
            reason = f"cannot compose: {exc}"[:2000]
            if isinstance(row, Letter):
                row.transition(LetterState.HELD, reason=reason)
                self.report.add("held")
            else:
                row.transition(NotificationState.FAILED, reason=reason)
                self.report.add("failed")
            self._unlease(row)
            logger.error(
                "%s %d cannot be composed (%s); set aside",
                type(row).__name__.lower(),
                row.id,
                type(exc).__name__,
            )
            return None

    @staticmethod
    def _unlease(row: Letter | Notification) -> None:
        row.lease_owner = None
        row.lease_expires_at = None
        row.next_attempt_at = None

    # Sending (runs in the pool's threads) ---------------------------------------------

    def _write(self, action: Callable[[Any], Any]) -> Any:
        """Run one short write transaction, retrying briefly if the database is busy."""
        for attempt in range(5):
            try:
                with self._engine.begin() as conn:
                    return action(conn)
            except OperationalError:
                if attempt == 4:
                    raise
                time.sleep(0.1 * 2**attempt)
        return None

    def _deliver(self, job: Job) -> None:
        """Send one job, one at a time until the API key has been seen to work."""
        if not self._key_proven.is_set():
            with self._probe:
                if not self._key_proven.is_set():
                    self._deliver_one(job)
                    return
        self._deliver_one(job)

    def _deliver_one(self, job: Job) -> None:
        """Mark a job SENDING, make the request, record the outcome."""
        self._wait_for_rate_limit()
        if self._halted():
            return
        started = self._write(
            lambda conn: queue.start(conn, job.model, job.id, self.owner, self.lease)
        )
        if not started:
            self.report.add("lost")
            return
        try:
            result = self.backend.send(job.email)
        except RateLimited as exc:
            self._key_proven.set()
            self._pause(exc.reset_at)
            self.report.add("rate_limited")
            self._retry_at(
                job, datetime.fromtimestamp(exc.reset_at, UTC), "rate limited (429)", refund=True
            )
        except MailAuthError as exc:
            self._key_refused(exc)
            self._retry_at(job, utcnow(), f"API key refused ({exc.status})", refund=True)
        except PermanentMailError as exc:
            self._key_proven.set()
            reason = f"SendGrid {exc.status}: " + "; ".join(exc.messages)
            self._write(
                lambda conn: queue.mark_failed(conn, job.model, job.id, self.owner, reason[:4000])
            )
            self.report.add("failed")
            logger.warning("%s refused by SendGrid (HTTP %s): failed", job.label, exc.status)
        except TransientMailError as exc:
            self._key_proven.set()
            self._transient(job, str(exc), exc.retry_after, exc.maybe_accepted)
        except Exception as exc:
            # Not one of ours: unknown whether the request left, so assume it might have.
            self._transient(job, f"unexpected {type(exc).__name__}", None, True)
        else:
            self._key_proven.set()
            recorded = self._write(
                lambda conn: queue.mark_sent(conn, job.model, job.id, self.owner, result.message_id)
            )
            self.report.add("sent")
            if not recorded:
                logger.warning(
                    "%s was accepted after this worker lost its lease; flagged as a possible "
                    "duplicate",
                    job.label,
                )

    def _retry_at(self, job: Job, at: datetime, reason: str, *, refund: bool = False) -> None:
        self._write(
            lambda conn: queue.mark_retry(
                conn, job.model, job.id, self.owner, at=at, reason=reason, refund_attempt=refund
            )
        )

    def _transient(
        self, job: Job, reason: str, retry_after: float | None, maybe_accepted: bool
    ) -> None:
        attempts, flagged = self._attempts(job)
        if maybe_accepted and flagged and job.model is Letter:
            # Two requests may both have arrived: never risk a third copy.
            self._write(
                lambda conn: queue.mark_held(conn, job.id, self.owner, queue.TWICE_IN_FLIGHT)
            )
            self.report.add("held")
            logger.warning("%s held for review: a second request may have arrived", job.label)
            return
        if attempts >= self.retry.max_attempts:
            final = f"gave up after {attempts} attempts: {reason}"
            self._write(lambda conn: queue.mark_failed(conn, job.model, job.id, self.owner, final))
            self.report.add("failed")
            logger.warning("%s failed after %d attempts (%s)", job.label, attempts, reason)
            return
        delay = max(self.retry.delay(attempts), retry_after or 0.0)
        at = utcnow() + timedelta(seconds=delay)
        self._write(
            lambda conn: queue.mark_retry(
                conn,
                job.model,
                job.id,
                self.owner,
                at=at,
                reason=reason,
                maybe_accepted=maybe_accepted,
            )
        )
        self.report.add("retried")
        logger.info("%s: %s; attempt %d, retry in %.1fs", job.label, reason, attempts, delay)

    def _attempts(self, job: Job) -> tuple[int, bool]:
        """The row's attempt count and possible-duplicate flag."""
        with self._engine.connect() as conn:
            row = conn.execute(
                select(job.model.attempts, job.model.is_possible_duplicate).where(
                    job.model.id == job.id
                )
            ).first()
        return (int(row[0]), bool(row[1])) if row else (0, False)

    # Maintenance --------------------------------------------------------------------------

    def _maintain(self) -> None:
        """Reminders, expiry and purging, at most once per `maintenance_every` seconds."""
        if time.monotonic() - self._last_maintenance < self.maintenance_every:
            return
        self._last_maintenance = time.monotonic()
        report = run_maintenance(self.settings)
        self.report.add("reminded", report.reminded)
        self.report.add("expired", report.expired)
        self.report.add("purged", report.purged)


def run_maintenance(settings: Settings, now: datetime | None = None) -> queue.MaintenanceReport:
    """One pass of reminders, expiry and purging, each in its own transaction."""
    now = now or utcnow()
    with db.transaction() as session:
        reminded = queue.queue_reminders(session, now)
    with db.transaction() as session:
        expired = queue.expire_unconfirmed(session, now)
    # Imported here: the registry discovers every package's tables, this one included.
    from advocacy.privacy.services import enforce_retention

    with db.new_session() as session:
        purged = enforce_retention(session, settings, now)
    if reminded or expired or purged:
        logger.info(
            "maintenance: %d reminders queued, %d letters expired, %d rows erased by retention",
            reminded,
            expired,
            purged,
        )
    return queue.MaintenanceReport(reminded=reminded, expired=expired, purged=purged)
