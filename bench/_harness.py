"""Shared benchmark plumbing: a gunicorn server on loopback and a closed-loop load generator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    """An unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(instance: Path, **extra: str) -> dict[str, str]:
    """Environment for a benchmark app: its own SQLite database and outbox mail."""
    env = dict(os.environ)
    env.update(
        {
            "INSTANCE_PATH": str(instance),
            "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
            "SECRET_KEY": "bench-secret",
            "MAIL_BACKEND": "outbox",
            "MAIL_FROM": "letters@campaign.example",
        }
    )
    env.update(extra)
    return env


def cli(env: dict[str, str], *args: str) -> None:
    """Run an `advocacy` subcommand."""
    subprocess.run([str(BIN / "advocacy"), *args], env=env, check=True, capture_output=True)


@contextmanager
def gunicorn(env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """Serve wsgi:app with gunicorn on a free loopback port; yield its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.1)
        else:
            raise RuntimeError("gunicorn did not start")
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


@dataclass
class LoadResult:
    """Requests completed in a timed, closed-loop run."""

    requests: int
    errors: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def closed_loop(
    call: Callable[[requests.Session, int], bool], *, concurrency: int, seconds: float
) -> LoadResult:
    """Run `call` from `concurrency` threads for `seconds`; count successes and errors."""
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    counter = {"ok": 0, "err": 0, "seq": 0}

    def worker() -> None:
        with requests.Session() as http:
            while time.monotonic() < stop:
                with lock:
                    counter["seq"] += 1
                    seq = counter["seq"]
                ok = call(http, seq)
                with lock:
                    counter["ok" if ok else "err"] += 1

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(counter["ok"], counter["err"], time.monotonic() - started)


def temp_instance() -> tempfile.TemporaryDirectory[str]:
    """A throwaway instance directory."""
    return tempfile.TemporaryDirectory(prefix="advocacy-bench-")


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last line of output, one JSON object."""
    print(json.dumps(result, sort_keys=True))
