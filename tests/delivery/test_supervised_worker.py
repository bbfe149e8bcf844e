"""`advocacy dev` (what `make run` starts): a killed worker comes back, Ctrl-C stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Campaign, LetterState, WorkerStatus
from tests.delivery.helpers import (
    PROJECT_ROOT,
    add_queued,
    dispose_pool,
    letters_by_state,
    worker_env,
)
from tests.fakes.sendgrid import FakeSendGrid


def free_port() -> int:
    """A free loopback port in the range these tests may use."""
    for port in range(18150, 18200):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 18150-18199")


def worker_pids(session: Session) -> set[int]:
    """The process ids of the workers that have written their status row."""
    session.expire_all()
    return {int(owner.split(":")[1]) for owner in session.scalars(select(WorkerStatus.owner))}


def wait_for(condition: object, what: str, process: subprocess.Popen[bytes]) -> None:
    """Poll until condition() is true; on failure stop the process and show its output."""
    deadline = time.monotonic() + 60
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            output = process.communicate(timeout=10)[0].decode()
            pytest.fail(f"timed out waiting for {what}:\n{output}")
        time.sleep(0.1)


def healthz(port: int) -> int:
    """The dev server's /healthz status, or 0 while it is not answering."""
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    except requests.ConnectionError:
        return 0


@pytest.mark.slow
def test_dev_restarts_a_killed_worker_and_ctrl_c_stops_everything(
    app: Flask,
    campaign: Campaign,
    session: Session,
    database_url: str,
    tmp_path: Path,
    fake_sendgrid: FakeSendGrid,
) -> None:
    port = free_port()
    dispose_pool()
    env = worker_env(database_url, tmp_path / "instance", fake_sendgrid)
    process = subprocess.Popen(
        [sys.executable, "-m", "advocacy", "dev", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: worker_pids(session), "the worker to start", process)
        wait_for(lambda: healthz(port) == 200, "the web server to answer", process)
        [first] = worker_pids(session)
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: worker_pids(session) - {first}, "a new worker", process)
        letters = add_queued(session, campaign, 3)
        wait_for(lambda: letters_by_state(session) == {LetterState.SENT: 3}, "the letters", process)
        assert set(fake_sendgrid.accepted_counts("letter_key").values()) == {1}
        assert len(fake_sendgrid.accepted) == len(letters)
        [second] = worker_pids(session) - {first}
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=60)[0].decode()
    assert process.returncode == 0, output
    assert "worker exited with status -9" in output
    # Both children are gone: the worker stopped cleanly (its row removed), the port is free.
    with pytest.raises(ProcessLookupError):
        os.kill(second, 0)
    assert second not in worker_pids(session)
    assert healthz(port) == 0
