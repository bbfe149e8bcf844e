"""Workers killed mid-batch, and several workers at once: every letter sent exactly once.

These start real `advocacy worker` processes against the fake SendGrid on loopback.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.delivery.events import apply_events
from advocacy.delivery.queue import queue_letter
from advocacy.models import Campaign, Letter, LetterState
from tests.delivery.helpers import (
    PROJECT_ROOT,
    add_queued,
    is_postgresql,
    start_worker,
    worker_args,
    worker_env,
)
from tests.fakes.sendgrid import FakeSendGrid

LEASE_SECONDS = 2


def _count(session: Session, *conditions: object) -> int:
    session.expire_all()
    return int(session.scalar(select(func.count(Letter.id)).where(*conditions)) or 0)  # type: ignore[arg-type]


def _wait_for(condition: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, message
        time.sleep(0.02)


@pytest.mark.slow
def test_sigkill_mid_batch_loses_nothing_and_flags_possible_duplicates(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    letters = add_queued(session, campaign, 200)
    keys = {letter.idempotency_key for letter in letters}
    fake_sendgrid.latency = 0.04
    env = worker_env(
        database_url,
        tmp_path / "instance",
        fake_sendgrid,
        WORKER_CONCURRENCY="4",
        WORKER_BATCH_SIZE="8",
        WORKER_LEASE_SECONDS=str(LEASE_SECONDS),
    )
    rng = random.Random(20261122)
    kills = killed_mid_batch = 0
    # What a worker can still send: queued letters, and letters left in flight only once
    # (one left in flight twice is held for a person on recovery, not sent again).
    sendable = (Letter.state == LetterState.QUEUED) | (
        (Letter.state == LetterState.SENDING) & Letter.is_possible_duplicate.is_(False)
    )
    while kills < 15 and _count(session, sendable):
        process = start_worker(env)
        try:
            if kills % 2 == 0:
                # Once the worker is sending, at a random moment of its batch...
                before = fake_sendgrid.request_count
                _wait_for(
                    lambda p=process, b=before: (
                        fake_sendgrid.request_count > b
                        or p.poll() is not None
                        or not _count(session, sendable)
                    ),
                    20,
                    "the worker never sent anything",
                )
                time.sleep(rng.uniform(0.0, 0.3))
            else:
                # ...or at any instant of its life, start-up and claiming included.
                time.sleep(rng.uniform(0.3, 1.5))
        finally:
            # Killed whatever happened: a worker left running would take later tests' letters.
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        kills += 1
        if _count(session, Letter.lease_owner.is_not(None)):
            killed_mid_batch += 1
    # Nothing is lost: once the dead workers' leases expire, one more worker finishes.
    time.sleep(LEASE_SECONDS + 0.5)
    final = subprocess.run(
        worker_args("--once"),
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert final.returncode == 0, final.stdout.decode() + final.stderr.decode()

    # A letter caught in flight by two kills was held rather than risk a third copy. SendGrid's
    # webhook reports what it accepted, which releases those letters as sent...
    processed = [
        {
            "event": "processed",
            "sg_event_id": f"processed-{i}",
            "sg_message_id": f"{message.message_id}.filter0001.1.0",
            "timestamp": int(message.received_at),
            "email": "jo.bloggs.mp@parliament.uk",
            **message.custom_args(),
        }
        for i, message in enumerate(fake_sendgrid.accepted)
    ]
    apply_events(processed)
    # ...and a person requeues any held letter SendGrid never saw.
    for letter in session.scalars(select(Letter).where(Letter.state == LetterState.HELD)):
        assert fake_sendgrid.accepted_for("letter_key", letter.idempotency_key) == []
        queue_letter(session, letter)
    session.commit()
    final = subprocess.run(
        worker_args("--once"),
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert final.returncode == 0, final.stdout.decode() + final.stderr.decode()

    session.expire_all()
    rows = session.scalars(select(Letter)).all()
    assert Counter(letter.state for letter in rows) == {LetterState.SENT: len(letters)}
    accepted = fake_sendgrid.accepted_counts("letter_key")
    assert set(accepted) == keys
    flagged = {letter.idempotency_key for letter in rows if letter.is_possible_duplicate}
    for letter in rows:
        copies = accepted[letter.idempotency_key]
        assert copies == 1 or (copies == 2 and letter.idempotency_key in flagged), (
            f"letter {letter.id} accepted {copies} times, flagged={letter.is_possible_duplicate}"
        )
    # The window for a duplicate is the requests in flight when a worker died: at most
    # `concurrency` letters per kill.
    assert len(flagged) <= kills * 4
    assert kills >= 5
    assert killed_mid_batch >= kills // 2, (kills, killed_mid_batch)


@pytest.mark.slow
def test_four_workers_on_postgresql_send_each_letter_once(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    if not is_postgresql(database_url):
        pytest.skip(
            "needs PostgreSQL (FOR UPDATE SKIP LOCKED): run with "
            "TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    fake_sendgrid.latency = 0.01
    env = worker_env(
        database_url,
        tmp_path / "instance",
        fake_sendgrid,
        WORKER_CONCURRENCY="8",
        WORKER_BATCH_SIZE="25",
    )
    workers = [start_worker(env) for _ in range(4)]
    try:
        for process in workers:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert b"starting" in line, line
        add_queued(session, campaign, 2000)
        _wait_for(
            lambda: _count(session, Letter.state == LetterState.SENT) == 2000,
            120,
            "the workers did not drain the queue",
        )
    finally:
        for process in workers:
            process.send_signal(signal.SIGTERM)
    outputs = [process.communicate(timeout=30)[0].decode() for process in workers]
    assert [process.returncode for process in workers] == [0, 0, 0, 0], outputs
    accepted = fake_sendgrid.accepted_counts("letter_key")
    assert len(accepted) == 2000
    assert set(accepted.values()) == {1}
    assert _count(session, Letter.is_possible_duplicate.is_(True)) == 0
    sent_by_worker = [
        int(re.search(r"Worker stopped: (\d+) sent", output).group(1))  # type: ignore[union-attr]
        for output in outputs
    ]
    assert sum(sent_by_worker) == 2000
    assert all(count > 0 for count in sent_by_worker), sent_by_worker
