"""A small, bounded, per-process TTL cache that sits in front of the directory's tables.

A postcode lookup whose answer is already in the database still costs two queries; a campaign
launch sends the same few postcodes over and over, so the hot ones are kept in memory for a
short while. The lifetime is short on purpose: a `mps sync` run in another process (or an edit
to the table) shows on every web worker within it. The sync run in the same process clears it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, Final

# A value that means "nothing cached", so that None can be cached (an unknown GSS code).
MISSING: Final = object()


class TTLCache:
    """A thread-safe mapping whose entries expire after `ttl` seconds; at most `max_entries`."""

    def __init__(
        self,
        ttl: float,
        *,
        max_entries: int = 20_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}

    @property
    def enabled(self) -> bool:
        """False when the lifetime is zero: every get misses and nothing is kept."""
        return self.ttl > 0

    def get(self, key: Hashable) -> Any:
        """The cached value, or MISSING if absent or expired."""
        entry = self._entries.get(key)
        if entry is None:
            return MISSING
        if entry[0] <= self._clock():
            with self._lock:
                # Another thread may have stored a fresh value since we looked.
                current = self._entries.get(key)
                if current is entry:
                    del self._entries[key]
            return MISSING
        return entry[1]

    def put(self, key: Hashable, value: Any) -> None:
        """Remember value for `ttl` seconds, making room if the cache is full."""
        if not self.enabled:
            return
        now = self._clock()
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                self._make_room(now)
            self._entries[key] = (now + self.ttl, value)

    def clear(self) -> None:
        """Forget everything (after a sync or an edit in this process)."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _make_room(self, now: float) -> None:
        # Drop what has expired; if that frees nothing, drop the oldest tenth. Entries are
        # kept in insertion order, so the oldest come first. Cheaper than true LRU, and a
        # popular postcode evicted by mistake costs one indexed query to bring back.
        expired = [key for key, (expires, _) in self._entries.items() if expires <= now]
        for key in expired:
            del self._entries[key]
        if len(self._entries) >= self.max_entries:
            for key in list(self._entries)[: max(1, self.max_entries // 10)]:
                del self._entries[key]
