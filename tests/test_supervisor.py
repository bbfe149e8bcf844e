"""The development supervisor: the worker is started again when it exits, Ctrl-C stops all."""

from __future__ import annotations

import itertools
import sys
import threading
import time
from pathlib import Path

import pytest

from advocacy.supervisor import Child, Supervisor


def python(code: str) -> list[str]:
    """A command line that runs this Python snippet."""
    return [sys.executable, "-c", code]


def dies_after_noting(path: Path) -> list[str]:
    """A child that writes the time it started to `path`, then exits with status 3."""
    return python(
        f"import sys, time; open({str(path)!r}, 'a').write(f'{{time.monotonic()}}\\n'); sys.exit(3)"
    )


SLEEPER = python("import time; time.sleep(120)")


def run_in_thread(supervisor: Supervisor) -> tuple[threading.Thread, list[int]]:
    """Run the supervisor in a thread; its exit status lands in the returned list."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(supervisor.run()), daemon=True)
    thread.start()
    return thread, result


def wait_for(condition: object, what: str, timeout: float = 30.0) -> None:
    """Poll until condition() is true."""
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_child_that_exits_is_started_again_after_a_growing_pause(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    web = Child("web server", SLEEPER, restart=False)
    worker = Child("worker", dies_after_noting(starts), restart=True)
    supervisor = Supervisor(
        [web, worker], first_backoff=0.2, max_backoff=0.8, poll_seconds=0.01, grace_seconds=5
    )
    thread, result = run_in_thread(supervisor)
    wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 5, "five starts")
    supervisor.stop()
    thread.join(timeout=10)
    assert result == [0]
    times = [float(t) for t in starts.read_text().split()]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # 0.2 s, then 0.4 s, then capped at 0.8 s (each gap also holds Python's start-up).
    for gap, pause in zip(gaps, [0.2, 0.4, 0.8, 0.8], strict=False):
        assert gap >= pause, gaps
    assert set(worker.exit_codes) == {3}
    # The web server kept running throughout, and was stopped with the rest.
    assert web.starts == 1
    assert web.process is not None
    assert web.process.poll() is not None


def test_a_worker_that_ran_a_while_is_restarted_quickly_again(tmp_path: Path) -> None:
    starts = tmp_path / "starts"
    worker = Child("worker", dies_after_noting(starts), restart=True)
    # Every run counts as healthy, so the pause never grows past the first.
    supervisor = Supervisor(
        [worker], first_backoff=0.3, max_backoff=10, healthy_after=0, poll_seconds=0.01
    )
    thread, _ = run_in_thread(supervisor)
    wait_for(lambda: starts.exists() and len(starts.read_text().split()) >= 5, "five starts")
    supervisor.stop()
    thread.join(timeout=10)
    times = [float(t) for t in starts.read_text().split()]
    # Doubling would have made the last pause 2.4 s.
    assert max(b - a for a, b in itertools.pairwise(times)) < 2.0


def test_everything_stops_when_the_web_server_exits() -> None:
    web = Child("web server", python("import sys; sys.exit(2)"), restart=False)
    worker = Child("worker", SLEEPER, restart=True)
    supervisor = Supervisor([web, worker], poll_seconds=0.01, grace_seconds=5)
    thread, result = run_in_thread(supervisor)
    thread.join(timeout=20)
    assert result == [2]
    assert worker.process is not None
    assert worker.process.poll() is not None
