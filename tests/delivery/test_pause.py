"""A refused API key pauses sending, is checked again, and sending resumes by itself."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery import status
from advocacy.delivery.mail import MailAuthError, SendGridBackend
from advocacy.delivery.worker import Worker
from advocacy.extensions import db
from advocacy.models import (
    Campaign,
    Letter,
    LetterState,
    Notification,
    NotificationState,
    WorkerState,
    WorkerStatus,
    utcnow,
)
from tests.delivery.helpers import add_queued, add_submitted, make_worker
from tests.fakes.sendgrid import FakeSendGrid


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    """Poll until condition() is true, or fail saying what never happened."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def key_checks(fake: FakeSendGrid) -> int:
    """How many of the requests the fake received were sandbox-mode key checks."""
    return sum(1 for r in fake.requests if b'"sandbox_mode":{"enable":true}' in r.body)


def real_sends(fake: FakeSendGrid) -> int:
    """How many requests carried a real letter or notification."""
    return fake.request_count - key_checks(fake)


def rows(session: Session, model: type[Letter] | type[Notification]) -> list[Letter]:
    """Every row of a queue table, as the database has it now."""
    session.expire_all()
    return list(session.scalars(select(model)).all())


def in_thread(app: Flask, worker: Worker) -> threading.Thread:
    """Run a worker (until stopped) in a thread of its own, inside the app's context."""

    def run() -> None:
        with app.app_context():
            worker.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def running(
    app: Flask, settings: Settings, fake_sendgrid: FakeSendGrid
) -> Iterator[Callable[..., Worker]]:
    """Start a fast-probing worker in a thread; it is stopped after the test."""
    started: list[tuple[Worker, threading.Thread]] = []

    def start(**kwargs: object) -> Worker:
        kwargs.setdefault("heartbeat_seconds", 0.2)
        kwargs.setdefault("probe_first_seconds", 0.2)
        kwargs.setdefault("probe_cap_seconds", 0.4)
        # A request timed out on a loaded machine is retried, which is not what is tested.
        kwargs.setdefault("read_timeout", 15.0)
        worker = make_worker(settings, fake_sendgrid, **kwargs)
        started.append((worker, in_thread(app, worker)))
        return worker

    yield start
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=20)
        assert not thread.is_alive()


def health(client: FlaskClient) -> tuple[int, dict]:
    """/healthz's status code and its JSON."""
    response = client.get("/healthz")
    return response.status_code, json.loads(response.data)


@pytest.mark.slow
def test_401_storm_then_recovery_delivers_every_letter_once_without_a_restart(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    fake_sendgrid: FakeSendGrid,
    running: Callable[..., Worker],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    first = add_queued(session, campaign, 30)
    awaiting = [add_submitted(session, campaign, email_digest=f"{i:064x}") for i in range(5)]
    fake_sendgrid.fail_always(status=401)
    worker = running(concurrency=8)

    # (On a loaded machine a heartbeat can come late, and /healthz then briefly says the
    # worker is unseen, also a 503: wait for the pause itself.)
    wait_for(
        lambda: health(client)[1]["sending"]["state"] == "paused", "/healthz to report the pause"
    )
    status, body = health(client)
    assert status == 503
    assert body["status"] == "degraded"
    assert "refused the API key (401: authorization required)" in body["sending"]["reason"]
    assert body["sending"]["next_probe_at"] is not None

    wait_for(lambda: key_checks(fake_sendgrid) >= 3, "three checks of the key")
    # Letters that arrive while sending is paused wait with the rest.
    later = add_queued(session, campaign, 5)
    # One real request found the bad key; every other request was a key check.
    assert real_sends(fake_sendgrid) == 1
    for row in rows(session, Letter) + rows(session, Notification):
        assert row.state in {
            LetterState.QUEUED,
            LetterState.AWAITING_CONFIRMATION,
            NotificationState.QUEUED,
        }
        assert row.attempts == 0
        assert row.lease_owner is None
    messages = [r.getMessage() for r in caplog.records]
    assert sum("REFUSED THE API KEY" in m for m in messages) == 1
    # The reason is repeated at every check, so whoever reads the log sees why.
    assert sum("sending paused" in m and "401" in m for m in messages) >= 3

    fake_sendgrid.clear_faults()
    queued = {x.id for x in first + later}
    wait_for(
        lambda: (
            {r.state for r in rows(session, Letter) if r.id in queued} == {LetterState.SENT}
            and {n.state for n in rows(session, Notification)} == {NotificationState.SENT}
        ),
        "every letter and confirmation to be sent",
    )
    wait_for(lambda: health(client)[0] == 200, "/healthz to report sending again")
    assert health(client)[1]["sending"]["state"] == "sending"
    assert any("sending resumed" in r.getMessage() for r in caplog.records)

    letter_keys = fake_sendgrid.accepted_counts("letter_key")
    assert sorted(letter_keys) == sorted(x.idempotency_key for x in first + later)
    assert set(letter_keys.values()) == {1}
    confirmations = fake_sendgrid.accepted_counts("notification_key")
    assert len(confirmations) == len(awaiting)
    assert set(confirmations.values()) == {1}
    sent = [r for r in rows(session, Letter) if r.id in queued] + rows(session, Notification)
    assert {r.attempts for r in sent} == {1}
    assert worker.report.probes >= 3
    # Key checks were never delivered: every accepted message is a letter or a confirmation.
    assert len(fake_sendgrid.accepted) == len(first) + len(later) + len(awaiting)


@pytest.mark.slow
def test_key_revoked_mid_drain_burns_no_attempt_and_sends_each_letter_once(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    fake_sendgrid: FakeSendGrid,
    running: Callable[..., Worker],
) -> None:
    letters = add_queued(session, campaign, 60)
    fake_sendgrid.latency = 0.02
    running(concurrency=8, batch_size=10)
    wait_for(lambda: len(fake_sendgrid.accepted) >= 5, "the first letters to go")
    fake_sendgrid.fail_always(status=403)
    wait_for(lambda: health(client)[0] == 503, "/healthz to report the pause")
    assert "403" in health(client)[1]["sending"]["reason"]
    wait_for(lambda: key_checks(fake_sendgrid) >= 2, "two checks of the key")
    unsent = [r for r in rows(session, Letter) if r.state != LetterState.SENT]
    assert unsent, "the key was revoked after every letter had gone"
    assert {r.state for r in unsent} == {LetterState.QUEUED}
    assert {r.attempts for r in unsent} == {0}
    assert {r.lease_owner for r in unsent} == {None}

    fake_sendgrid.clear_faults()
    wait_for(
        lambda: {r.state for r in rows(session, Letter)} == {LetterState.SENT},
        "every letter to be sent",
    )
    counts = fake_sendgrid.accepted_counts("letter_key")
    assert sorted(counts) == sorted(x.idempotency_key for x in letters)
    assert set(counts.values()) == {1}


@pytest.mark.slow
def test_a_slow_or_failing_key_check_keeps_sending_paused(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    fake_sendgrid: FakeSendGrid,
    running: Callable[..., Worker],
) -> None:
    add_queued(session, campaign, 3)
    fake_sendgrid.fail_next(1, status=401)
    fake_sendgrid.fail_next(2, status=500)
    running(concurrency=2)
    wait_for(lambda: key_checks(fake_sendgrid) >= 3, "the key to be checked three times")
    # A 500 says nothing about the key: only a check SendGrid answers lifts the pause.
    wait_for(
        lambda: {r.state for r in rows(session, Letter)} == {LetterState.SENT},
        "the letters to be sent",
    )
    assert real_sends(fake_sendgrid) == 4
    assert health(client)[0] == 200


def test_heartbeat_keeps_the_row_fresh_and_a_clean_stop_removes_it(
    app: Flask,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    worker = make_worker(settings, fake_sendgrid, heartbeat_seconds=0.1)
    thread = in_thread(app, worker)

    def row() -> WorkerStatus | None:
        session.expire_all()
        return session.get(WorkerStatus, worker.owner)

    wait_for(lambda: row() is not None, "the worker's row")
    first = row()
    assert first is not None
    assert first.state == WorkerState.RUNNING
    beat = first.heartbeat_at
    wait_for(lambda: (row() or first).heartbeat_at > beat, "a heartbeat")
    worker.stop()
    thread.join(timeout=20)
    session.expire_all()
    assert session.get(WorkerStatus, worker.owner) is None


def test_once_with_a_refused_key_leaves_the_reason_for_healthz(
    app: Flask,
    client: FlaskClient,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_queued(session, campaign, 2)
    fake_sendgrid.fail_always(status=401)
    report = make_worker(settings, fake_sendgrid).run(once=True)
    assert report.auth_failed
    code, body = health(client)
    assert code == 503
    assert body["sending"]["state"] == "paused"


# current_status, from the rows alone ----------------------------------------------------------


def add_status(session: Session, owner: str, *, age: float, **values: object) -> None:
    """A worker row whose last heartbeat was `age` seconds ago."""
    at = utcnow() - timedelta(seconds=age)
    session.add(
        WorkerStatus(
            owner=owner,
            started_at=at,
            state_changed_at=at,
            heartbeat_at=at,
            heartbeat_seconds=15.0,
            **values,
        )
    )
    session.commit()


def test_status_before_any_worker_is_ok(app: Flask, session: Session) -> None:
    answer = status.current_status(session)
    assert answer.state == status.SendingState.NO_WORKER_YET
    assert answer.is_ok


def test_status_of_a_worker_not_heard_from_is_unseen(
    app: Flask, session: Session, client: FlaskClient
) -> None:
    add_status(session, "host:1:dead", age=15 * 4 + 120)
    answer = status.current_status(session)
    assert answer.state == status.SendingState.UNSEEN
    assert not answer.is_ok
    assert "no delivery worker has been heard from" in (answer.reason or "")
    assert "3 min ago" in (answer.reason or "")
    code, body = health(client)
    assert code == 503
    assert body["sending"]["state"] == "unseen"


def test_status_of_a_live_worker_is_sending_even_beside_a_dead_one(
    app: Flask, session: Session
) -> None:
    add_status(session, "host:1:dead", age=600)
    add_status(session, "host:2:live", age=1)
    answer = status.current_status(session)
    assert answer.state == status.SendingState.SENDING
    assert answer.workers == 1
    assert answer.is_ok


def test_status_of_a_dead_paused_worker_keeps_its_reason(app: Flask, session: Session) -> None:
    add_status(
        session, "host:1:dead", age=600, state=WorkerState.PAUSED, reason="SendGrid refused..."
    )
    answer = status.current_status(session)
    assert answer.state == status.SendingState.UNSEEN
    assert "the last one had paused sending: SendGrid refused..." in (answer.reason or "")


def test_register_forgets_dead_workers_only(app: Flask, session: Session) -> None:
    add_status(session, "host:1:dead", age=600)
    add_status(session, "host:2:live", age=1)
    engine = db.engine
    assert engine is not None
    with engine.begin() as conn:
        status.register(conn, "host:3:new", 15.0)
    session.expire_all()
    owners = set(session.scalars(select(WorkerStatus.owner)))
    assert owners == {"host:2:live", "host:3:new"}


def test_healthz_caches_its_answer(
    app: Flask, session: Session, client: FlaskClient, settings: Settings
) -> None:
    app.config["SETTINGS"] = settings.__class__(
        **{**settings.__dict__, "health_cache_seconds": 60.0}
    )
    assert client.get("/healthz").status_code == 200
    add_status(session, "host:1:dead", age=600)
    assert client.get("/healthz").status_code == 200
    app.extensions.pop("sending_status")
    assert client.get("/healthz").status_code == 503


# The key check itself ------------------------------------------------------------------------


def test_check_key_sends_nothing(fake_sendgrid: FakeSendGrid) -> None:
    backend = SendGridBackend(fake_sendgrid.api_key, fake_sendgrid.url)
    backend.check_key("letters@campaign.example")
    assert fake_sendgrid.accepted == []
    [checked] = fake_sendgrid.sandboxed
    assert checked["from"] == {"email": "letters@campaign.example"}


@pytest.mark.parametrize("status_code", [401, 403])
def test_check_key_raises_while_the_key_is_refused(
    fake_sendgrid: FakeSendGrid, status_code: int
) -> None:
    fake_sendgrid.fail_always(status=status_code)
    backend = SendGridBackend(fake_sendgrid.api_key, fake_sendgrid.url)
    with pytest.raises(MailAuthError):
        backend.check_key("letters@campaign.example")


def test_check_key_takes_a_refused_message_as_an_accepted_key(fake_sendgrid: FakeSendGrid) -> None:
    backend = SendGridBackend(fake_sendgrid.api_key, fake_sendgrid.url)
    backend.check_key("letters@localhost")
    # The fake refused the address (400), which it checks only after the key.
    assert fake_sendgrid.request_count == 1
    assert fake_sendgrid.accepted == []
    assert fake_sendgrid.sandboxed == []
