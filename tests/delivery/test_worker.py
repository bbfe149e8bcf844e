"""The worker against the fake SendGrid: every answer class, politeness limits, the CLI."""

from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.cli import worker_command
from advocacy.delivery.mail import OutboxBackend
from advocacy.delivery.worker import RetryPolicy, Worker
from advocacy.models import (
    Campaign,
    Letter,
    LetterState,
    Notification,
    NotificationState,
    utcnow,
)
from tests.conftest import make_settings
from tests.delivery.helpers import (
    MP_EMAIL,
    add_queued,
    add_submitted,
    letters_by_state,
    make_worker,
    reload,
    start_worker,
    worker_env,
)
from tests.fakes.sendgrid import FakeSendGrid


def test_worker_sends_confirmation_then_letter(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    letter = add_submitted(session, campaign)
    report = make_worker(settings, fake_sendgrid).run(once=True)
    assert report.sent == 1
    [confirmation] = fake_sendgrid.accepted
    assert confirmation.to == ["ayesha@example.org"]
    assert confirmation.custom_args()["kind"] == "confirmation"
    [notification] = session.scalars(select(Notification)).all()
    assert notification.state == NotificationState.SENT
    assert notification.message_id == confirmation.message_id

    from advocacy.delivery.queue import queue_letter

    queue_letter(session, reload(session, letter))
    session.commit()
    make_worker(settings, fake_sendgrid).run(once=True)
    sent = reload(session, letter)
    assert sent.state == LetterState.SENT
    [accepted] = fake_sendgrid.accepted_for("letter_key", sent.idempotency_key)
    assert accepted.to == [MP_EMAIL]
    assert sent.message_id == accepted.message_id
    assert sent.sending_at is not None
    assert sent.sent_at is not None
    assert sent.lease_owner is None
    assert sent.attempts == 1


def test_worker_drains_many_letters_concurrently_each_once(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    letters = add_queued(session, campaign, 60)
    fake_sendgrid.latency = 0.05
    make_worker(settings, fake_sendgrid, concurrency=16, batch_size=20).run(once=True)
    assert letters_by_state(session) == {LetterState.SENT: 60}
    counts = fake_sendgrid.accepted_counts("letter_key")
    assert sorted(counts) == sorted(letter.idempotency_key for letter in letters)
    assert set(counts.values()) == {1}
    # Each request spent 50 ms in the fake before it was accepted, so overlapping windows
    # prove requests were in flight together. How many is a speed question for
    # bench/drain.py; on a loaded machine the threads may not all get started in time.
    ends = sorted(m.received_at for m in fake_sendgrid.accepted)
    most_at_once = max(sum(1 for e in ends if end - 0.05 < e <= end) for end in ends)
    assert most_at_once >= 2, most_at_once


def test_429_waits_until_reset_then_resumes(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_queued(session, campaign, 5)
    fake_sendgrid.rate_limit_next(1, reset_in=1.0)
    started = time.time()
    report = make_worker(settings, fake_sendgrid, concurrency=1).run(once=True)
    assert report.rate_limited == 1
    assert letters_by_state(session) == {LetterState.SENT: 5}
    accepted = fake_sendgrid.accepted
    assert min(m.received_at for m in accepted) >= started + 1.0
    # The 429 did not count as a failed attempt.
    assert {letter.attempts for letter in session.scalars(select(Letter))} == {1}


@pytest.mark.parametrize("status", [401, 403])
def test_refused_key_stops_without_burning_the_queue(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_queued(session, campaign, 30)
    fake_sendgrid.fail_always(status=status)
    report = make_worker(settings, fake_sendgrid, concurrency=16).run(once=True)
    assert report.auth_failed is True
    assert fake_sendgrid.request_count == 1
    letters = session.scalars(select(Letter)).all()
    assert {letter.state for letter in letters} == {LetterState.QUEUED}
    assert {letter.attempts for letter in letters} == {0}
    assert {letter.lease_owner for letter in letters} == {None}
    assert any("REFUSED THE API KEY" in r.getMessage() for r in caplog.records)


def test_5xx_backs_off_then_fails(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    [letter] = add_queued(session, campaign)
    fake_sendgrid.fail_always(status=503)
    worker = make_worker(
        settings, fake_sendgrid, retry=RetryPolicy(max_attempts=4, base_seconds=0.1)
    )
    deadline = time.monotonic() + 20
    while reload(session, letter).state != LetterState.FAILED:
        assert time.monotonic() < deadline
        worker.run(once=True)
        time.sleep(0.02)
    failed = reload(session, letter)
    assert failed.attempts == 4
    assert "gave up after 4 attempts" in (failed.failure_reason or "")
    assert fake_sendgrid.request_count == 4
    assert fake_sendgrid.accepted == []


def test_backoff_grows_with_jitter() -> None:
    policy = RetryPolicy(base_seconds=10, cap_seconds=100)
    for attempt, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80), (5, 100), (9, 100)]:
        delays = {policy.delay(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1


@pytest.mark.parametrize("status", [400, 413])
def test_rejected_letter_fails_at_once_with_sendgrids_messages(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
    status: int,
) -> None:
    [letter] = add_queued(session, campaign)
    if status == 400:
        fake_sendgrid.reject_next()
    else:
        fake_sendgrid.fail_next(status=413)
    make_worker(settings, fake_sendgrid).run(once=True)
    failed = reload(session, letter)
    assert failed.state == LetterState.FAILED
    assert failed.attempts == 1
    if status == 400:
        assert failed.failure_reason == (
            "SendGrid 400: from.email: The from email does not contain a valid address.; "
            "personalizations.0.to.0.email: Does not contain a valid address."
        )
    else:
        assert failed.failure_reason == "SendGrid 413: content too large"


def test_dropped_connection_is_retried_and_flagged(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    [letter] = add_queued(session, campaign)
    fake_sendgrid.close_next()
    worker = make_worker(settings, fake_sendgrid, retry=RetryPolicy(base_seconds=0.05))
    worker.run(once=True)
    assert reload(session, letter).state == LetterState.QUEUED
    time.sleep(0.1)
    worker.run(once=True)
    sent = reload(session, letter)
    assert sent.state == LetterState.SENT
    assert sent.is_possible_duplicate is True
    assert len(fake_sendgrid.accepted_for("letter_key", sent.idempotency_key)) == 1


def test_timed_out_send_that_arrived_is_sent_twice_and_flagged(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    [letter] = add_queued(session, campaign)
    fake_sendgrid.slow_next(0.6)
    worker = make_worker(
        settings, fake_sendgrid, read_timeout=0.3, retry=RetryPolicy(base_seconds=0.5)
    )
    worker.run(once=True)
    time.sleep(0.6)
    worker.run(once=True)
    sent = reload(session, letter)
    assert sent.state == LetterState.SENT
    assert len(fake_sendgrid.accepted_for("letter_key", sent.idempotency_key)) == 2
    assert sent.is_possible_duplicate is True


def test_hourly_cap_makes_letters_wait_not_drop(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    capped = make_settings(
        database_url,
        tmp_path / "capped",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "MP_HOURLY_CAP": "2",
        },
    )
    add_queued(session, campaign, 5)
    [other] = add_queued(session, campaign, 1, recipient_email="other.mp@parliament.uk")
    make_worker(capped, fake_sendgrid).run(once=True)
    assert len(fake_sendgrid.accepted_for("kind", "letter")) == 3
    assert reload(session, other).state == LetterState.SENT
    session.expire_all()
    waiting = session.scalars(select(Letter).where(Letter.state == LetterState.QUEUED)).all()
    assert len(waiting) == 3
    for letter in waiting:
        assert letter.next_attempt_at is not None
        assert letter.next_attempt_at > utcnow()
    # A little later they are due again, but the slots are still taken until an hour after
    # the first sends: they wait for exactly that.
    for letter in waiting:
        letter.next_attempt_at = utcnow()
    session.commit()
    make_worker(capped, fake_sendgrid).run(once=True)
    assert len(fake_sendgrid.accepted_for("kind", "letter")) == 3
    session.expire_all()
    sent_at = min(
        letter.sent_at
        for letter in session.scalars(select(Letter).where(Letter.state == LetterState.SENT))
        if letter.sent_at is not None
    )
    waiting = session.scalars(select(Letter).where(Letter.state == LetterState.QUEUED)).all()
    for letter in waiting:
        assert letter.next_attempt_at is not None
        assert letter.next_attempt_at >= sent_at + timedelta(minutes=59)
    # An hour later the slots are free again and the rest go, two at a time.
    for letter in session.scalars(select(Letter).where(Letter.state == LetterState.SENT)):
        letter.sent_at = utcnow() - timedelta(hours=2)
    for letter in waiting:
        letter.next_attempt_at = utcnow()
    session.commit()
    make_worker(capped, fake_sendgrid).run(once=True)
    assert len(fake_sendgrid.accepted_for("kind", "letter")) == 5


def test_sending_window_holds_letters_but_not_confirmations(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    hour = utcnow().hour
    closed = f"{(hour + 2) % 24:02d}:00-{(hour + 3) % 24:02d}:00 UTC"
    windowed = make_settings(
        database_url,
        tmp_path / "w",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "SENDING_WINDOW": closed,
        },
    )
    [letter] = add_queued(session, campaign)
    add_submitted(session, campaign, email_digest="f" * 64)
    make_worker(windowed, fake_sendgrid).run(once=True)
    assert [m.custom_args()["kind"] for m in fake_sendgrid.accepted] == ["confirmation"]
    assert reload(session, letter).state == LetterState.QUEUED
    opened = make_settings(
        database_url,
        tmp_path / "w",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "SENDING_WINDOW": f"{hour:02d}:00-{(hour + 1) % 24:02d}:00 UTC",
        },
    )
    make_worker(opened, fake_sendgrid).run(once=True)
    assert reload(session, letter).state == LetterState.SENT


def test_notification_for_a_confirmed_letter_is_cancelled(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    letter = add_submitted(session, campaign)
    from advocacy.delivery.queue import queue_letter

    queue_letter(session, letter)
    session.commit()
    report = make_worker(settings, fake_sendgrid).run(once=True)
    assert report.cancelled == 1
    [notification] = session.scalars(select(Notification)).all()
    assert notification.state == NotificationState.CANCELLED
    assert [m.custom_args()["kind"] for m in fake_sendgrid.accepted] == ["letter"]


def test_letter_without_email_is_held_for_review(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    [letter] = add_queued(session, campaign, recipient_email=None)
    report = make_worker(settings, fake_sendgrid).run(once=True)
    assert report.held == 1
    held = reload(session, letter)
    assert held.state == LetterState.HELD
    assert "no email address" in (held.failure_reason or "")
    assert fake_sendgrid.request_count == 0


def test_worker_logs_no_personal_data(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    add_submitted(session, campaign)
    add_queued(session, campaign, 3)
    fake_sendgrid.reject_next()
    fake_sendgrid.fail_next(status=500)
    make_worker(settings, fake_sendgrid).run(once=True)
    text = "\n".join(r.getMessage() for r in caplog.records)
    # The refusal and the retry were logged, so the check below is not vacuous.
    assert "refused by SendGrid" in text
    assert "SendGrid answered 500" in text
    for personal in ("Ayesha", "ayesha@example.org", "Acacia", "LS1 4AP", "libraries open"):
        assert personal not in text


def test_outbox_backend_delivers_through_the_same_queue(
    app: Flask, campaign: Campaign, session: Session, settings: Settings, tmp_path: Path
) -> None:
    add_submitted(session, campaign)
    outbox = tmp_path / "outbox"
    Worker(settings, OutboxBackend(outbox), poll_seconds=0.05).run(once=True)
    [eml] = list(outbox.glob("*.eml"))
    assert b"Please confirm your letter" in eml.read_bytes()


def test_cli_once_drains_the_queue(
    app: Flask,
    campaign: Campaign,
    session: Session,
    runner: FlaskCliRunner,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_queued(session, campaign, 3)
    result = runner.invoke(worker_command, ["--once", "--concurrency", "2"])
    assert result.exit_code == 0, result.output
    assert "3 sent" in result.output
    assert letters_by_state(session) == {LetterState.SENT: 3}


def test_cli_refused_key_exits_with_an_error(
    app: Flask,
    campaign: Campaign,
    session: Session,
    runner: FlaskCliRunner,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_queued(session, campaign, 3)
    fake_sendgrid.fail_always(status=401)
    result = runner.invoke(worker_command, ["--once"])
    assert result.exit_code == 1
    assert "SENDGRID_API_KEY" in result.output
    assert letters_by_state(session) == {LetterState.QUEUED: 3}


@pytest.mark.slow
def test_sigterm_finishes_the_request_in_flight_and_releases_the_rest(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    add_queued(session, campaign, 10)
    session.close()
    fake_sendgrid.latency = 1.5
    env = worker_env(
        database_url,
        tmp_path / "instance",
        fake_sendgrid,
        WORKER_CONCURRENCY="2",
        WORKER_BATCH_SIZE="10",
    )
    process = start_worker(env)
    deadline = time.monotonic() + 20
    # The first request goes alone (it proves the key), then two at a time.
    while fake_sendgrid.request_count < 3:
        if time.monotonic() > deadline:
            # Reading a live worker's output would wait for ever: stop it first.
            process.kill()
            pytest.fail(process.communicate(timeout=10)[0].decode())
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=20)
    assert process.returncode == 0, output.decode()
    in_flight = fake_sendgrid.request_count
    assert in_flight == 3
    states = letters_by_state(session)
    assert states == {LetterState.SENT: 3, LetterState.QUEUED: 7}, output.decode()
    letters = session.scalars(select(Letter)).all()
    assert {letter.lease_owner for letter in letters} == {None}
    assert not any(letter.is_possible_duplicate for letter in letters)
    assert set(fake_sendgrid.accepted_counts("letter_key").values()) == {1}
    assert b"released 7 rows" in output


def test_second_ambiguous_failure_holds_the_letter(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    [letter] = add_queued(session, campaign)
    fake_sendgrid.slow_next(0.5, count=2)
    worker = make_worker(
        settings, fake_sendgrid, read_timeout=0.2, retry=RetryPolicy(base_seconds=0.05)
    )
    worker.run(once=True)
    time.sleep(0.1)
    worker.run(once=True)
    held = reload(session, letter)
    assert held.state == LetterState.HELD
    assert held.is_possible_duplicate is True
    time.sleep(0.5)
    assert len(fake_sendgrid.accepted_for("letter_key", held.idempotency_key)) == 2
    worker.run(once=True)
    assert fake_sendgrid.request_count == 2
