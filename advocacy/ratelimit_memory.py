"""In-process rate limit counters that expire lazily, without a timer thread.

`limits`' own MemoryStorage prunes expired counters from a `threading.Timer` that lives for
10 ms, and every counted request after that starts a new one: on the send endpoint, starting
that thread (and waiting for it to take the GIL) cost more than all the rest of a
submission. These counters expire on read instead, and expired keys are swept, inline, at
most once per SWEEP_SECONDS, so memory stays bounded by the addresses seen in a window.
"""

from __future__ import annotations

import threading
import time

from limits.storage import Storage

SWEEP_SECONDS = 10.0


class LazyMemoryStorage(Storage):
    """Fixed-window counters in a dict, for `memory://` (one process, like MemoryStorage)."""

    STORAGE_SCHEME = None  # chosen by RateLimiter for memory://, never through the registry

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self._lock = threading.Lock()
        # key -> (count, expires at, on the time.time() clock that limits reports resets in)
        self._counters: dict[str, tuple[int, float]] = {}
        self._next_sweep = time.time() + SWEEP_SECONDS

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        """Nothing here raises storage errors; limits asks for the types anyway."""
        return ValueError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        """Add `amount` to a counter, starting a window of `expiry` seconds if none is open."""
        now = time.time()
        with self._lock:
            if now >= self._next_sweep:
                self._sweep(now)
            count, expires_at = self._counters.get(key, (0, 0.0))
            if expires_at <= now:
                count, expires_at = 0, now + expiry
            count += amount
            self._counters[key] = (count, expires_at)
        return count

    def get(self, key: str) -> int:
        """The counter's value in its open window, else 0."""
        count, expires_at = self._counters.get(key, (0, 0.0))
        return count if expires_at > time.time() else 0

    def get_expiry(self, key: str) -> float:
        """When the counter's window closes (now, if none is open)."""
        now = time.time()
        _, expires_at = self._counters.get(key, (0, 0.0))
        return expires_at if expires_at > now else now

    def check(self) -> bool:
        """Always healthy: there is nothing to reach."""
        return True

    def reset(self) -> int | None:
        """Forget every counter; return how many there were."""
        with self._lock:
            count = len(self._counters)
            self._counters.clear()
        return count

    def clear(self, key: str) -> None:
        """Forget one counter."""
        with self._lock:
            self._counters.pop(key, None)

    def _sweep(self, now: float) -> None:
        """Drop expired counters (the caller holds the lock)."""
        self._counters = {k: v for k, v in self._counters.items() if v[1] > now}
        self._next_sweep = now + SWEEP_SECONDS
