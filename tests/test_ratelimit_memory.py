"""In-process limit counters: fixed windows that expire on read, and no thread per request."""

from __future__ import annotations

import threading
import time

import pytest

from advocacy import ratelimit_memory
from advocacy.ratelimit_memory import LazyMemoryStorage
from tests.test_ratelimit import _app


def test_counters_count_within_a_window_and_restart_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(ratelimit_memory.time, "time", lambda: now[0])
    storage = LazyMemoryStorage()
    assert storage.incr("k", 60) == 1
    assert storage.incr("k", 60) == 2
    assert storage.get("k") == 2
    assert storage.get_expiry("k") == 1060.0
    now[0] = 1061.0
    assert storage.get("k") == 0
    assert storage.incr("k", 60) == 1
    assert storage.get_expiry("k") == 1121.0


def test_expired_counters_are_swept_so_memory_stays_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(ratelimit_memory.time, "time", lambda: now[0])
    storage = LazyMemoryStorage()
    for n in range(100):
        storage.incr(f"address-{n}", 1)
    now[0] += ratelimit_memory.SWEEP_SECONDS + 1
    storage.incr("fresh", 60)
    assert storage.reset() == 1


def test_limited_requests_start_no_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app()
    started: list[threading.Thread] = []
    original = threading.Thread.start

    def counting_start(self: threading.Thread) -> None:
        started.append(self)
        original(self)

    monkeypatch.setattr(threading.Thread, "start", counting_start)
    client = app.test_client()
    for _ in range(3):
        client.get("/other")
        # limits' MemoryStorage started a 10 ms timer thread whenever the last had ended.
        time.sleep(0.03)
    assert started == []
