"""Run the web server and the worker together, starting the worker again whenever it exits.

This is what `make run` (through `advocacy dev`) uses on a developer's machine, where nothing
else would notice a worker that died; in production systemd does the same job (see
docs/systemd/). A worker that keeps dying is started again after 1 s, 2 s, 4 s... up to a
minute, so a crash at start-up cannot spin; one that ran for a minute starts the count again.
The web server is not restarted: when it exits (a port already in use, say), everything stops,
so the problem is seen at once.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType

logger = logging.getLogger(__name__)


@contextmanager
def on_shutdown_signals(callback: Callable[[], None]) -> Iterator[None]:
    """Call `callback` on SIGTERM or SIGINT while inside the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        callback()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def advocacy_command(*args: str) -> list[str]:
    """The command line of `advocacy <args>`, run by this interpreter."""
    return [sys.executable, "-m", "advocacy", *args]


@dataclass
class Child:
    """One supervised command, and whether it is started again when it exits."""

    name: str
    argv: Sequence[str]
    restart: bool
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restart_at: float | None = None
    backoff: float = 0.0
    starts: int = 0
    exit_codes: list[int] = field(default_factory=list)


class Supervisor:
    """Starts its children, restarts those that should be, and stops them all on request."""

    def __init__(
        self,
        children: Sequence[Child],
        *,
        env: dict[str, str] | None = None,
        first_backoff: float = 1.0,
        max_backoff: float = 60.0,
        healthy_after: float = 60.0,
        grace_seconds: float = 30.0,
        poll_seconds: float = 0.2,
    ) -> None:
        self.children = list(children)
        self.env = env
        self.first_backoff = first_backoff
        self.max_backoff = max_backoff
        self.healthy_after = healthy_after
        self.grace_seconds = grace_seconds
        self.poll_seconds = poll_seconds
        self.exit_code = 0
        self._stopping = threading.Event()
        for child in self.children:
            child.backoff = first_backoff

    def stop(self) -> None:
        """Ask every child to stop (safe from a signal handler); run() then returns."""
        self._stopping.set()

    def run(self) -> int:
        """Supervise until stopped or until a child that is not restarted exits."""
        try:
            for child in self.children:
                self._start(child)
            while not self._stopping.is_set():
                for child in self.children:
                    self._check(child)
                self._stopping.wait(self.poll_seconds)
        finally:
            self._stop_all()
        return self.exit_code

    def _start(self, child: Child) -> None:
        child.process = subprocess.Popen(child.argv, env=self.env)  # noqa: S603 - our own commands
        child.started_at = time.monotonic()
        child.restart_at = None
        child.starts += 1
        logger.info("%s started (pid %d)", child.name, child.process.pid)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.process is None:
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child)
            return
        code = child.process.poll()
        if code is None or self._stopping.is_set():
            return
        child.process = None
        child.exit_codes.append(code)
        ran = now - child.started_at
        if not child.restart:
            logger.error("%s exited with status %d; stopping everything", child.name, code)
            self.exit_code = code or 1
            self._stopping.set()
            return
        if ran >= self.healthy_after:
            child.backoff = self.first_backoff
        logger.error(
            "%s exited with status %d after %.0fs; starting it again in %gs",
            child.name,
            code,
            ran,
            child.backoff,
        )
        child.restart_at = now + child.backoff
        child.backoff = min(child.backoff * 2, self.max_backoff)

    def _stop_all(self) -> None:
        """SIGTERM every child (the worker finishes its requests in flight), then wait."""
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace_seconds
        for process in running:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("pid %d did not stop in time; killing it", process.pid)
                process.kill()
                process.wait()


def development_children(host: str, port: int) -> list[Child]:
    """The web server (not restarted) and the worker (restarted whenever it exits)."""
    return [
        Child(
            "web server",
            advocacy_command("run", "--host", host, "--port", str(port), "--no-reload"),
            restart=False,
        ),
        Child("worker", advocacy_command("worker"), restart=True),
    ]


def run_development(host: str, port: int, **options: float) -> int:
    """Run web and worker until Ctrl-C or SIGTERM; return the exit status."""
    supervisor = Supervisor(development_children(host, port), env=dict(os.environ), **options)
    with on_shutdown_signals(supervisor.stop):
        return supervisor.run()
