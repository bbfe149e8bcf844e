"""Per-address rate limits on the endpoints that send email or call upstream APIs.

Built directly on `limits` (the library that also does Flask-Limiter's counting, with the
same storage backends): the app needs one thing from it, a fixed-window count per client
address and endpoint, and Flask-Limiter re-parsed the limit strings, rebuilt its limit
objects and ran a before- and after-request hook on every request of every page. Here a limit
string is parsed once, only limited endpoints pay, and nothing logs the address.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar, cast

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError as LimitsConfigurationError
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter
from werkzeug.exceptions import TooManyRequests

from advocacy.ratelimit_memory import LazyMemoryStorage

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

KEY_PREFIX = "advocacy"

# Every way of looking up a postcode counts against one limit per address, pages and the
# JSON API alike, so using both cannot double the rate at which postcodes.io is called.
LOOKUP_SCOPE = "advocacy.lookup"


@functools.lru_cache(maxsize=32)
def parse_limits(value: str) -> tuple[RateLimitItem, ...]:
    """Parse "10 per hour;30 per day" once, shortest window first; ValueError if malformed."""
    return tuple(sorted(parse_many(value)))


class RateLimiter:
    """Counts requests per client address and endpoint in memory or in Redis."""

    def init_app(self, app: Flask, storage_url: str) -> None:
        """Open the counters' storage named by RATE_LIMIT_STORAGE_URL."""
        try:
            storage = (
                LazyMemoryStorage()
                if storage_url.startswith("memory://")
                else storage_from_string(storage_url)
            )
        except LimitsConfigurationError as exc:
            raise ValueError(f"RATE_LIMIT_STORAGE_URL {storage_url!r}: {exc}") from exc
        if not isinstance(storage, Storage):
            raise ValueError(
                f"RATE_LIMIT_STORAGE_URL {storage_url!r}: asyncio storage is not usable"
            )
        app.extensions["rate_limiter"] = FixedWindowRateLimiter(storage)

    def limit(
        self,
        limit_value: Callable[[], str],
        *,
        scope: str | None = None,
        successes_only: bool = False,
    ) -> Callable[[Callable[P, R]], Callable[P, R]]:
        """Limit a view to `limit_value()` (read per request, so settings apply at once).

        Each view has its own counter unless views name the same `scope`, which makes them
        share one (so two ways to the same upstream cannot double the rate).

        With `successes_only`, a request is refused once the limit is spent, but only those
        the view answers without an error (below 400: a letter saved, an email sent) are
        counted, so somebody correcting a form, or refused for another reason, uses none of
        it. Two requests at the same instant may then both pass the last free place.
        """

        def decorator(view: Callable[P, R]) -> Callable[P, R]:
            counter = scope or f"{view.__module__}.{view.__qualname__}"

            @functools.wraps(view)
            def limited(*args: P.args, **kwargs: P.kwargs) -> R:
                if not successes_only:
                    self.check(limit_value(), counter)
                    return view(*args, **kwargs)
                self.check(limit_value(), counter, count=False)
                response = current_app.make_response(view(*args, **kwargs))  # type: ignore[arg-type]
                if response.status_code < 400:
                    self.count(limit_value(), counter)
                return cast(R, response)

            return limited

        return decorator

    def check(self, limit_value: str, scope: str, *, count: bool = True) -> None:
        """Count this request (unless `count` is false); raise 429 when any limit is spent.

        If the storage is unreachable (Redis down) the request goes through: the send
        endpoint keeps its own cap on unconfirmed letters per person, and refusing every
        letter during a cache outage would lose more than it protects.
        """
        strategy: FixedWindowRateLimiter = current_app.extensions["rate_limiter"]
        key = self._key(scope)
        for item in parse_limits(limit_value):
            try:
                if strategy.hit(item, *key) if count else strategy.test(item, *key):
                    continue
                reset_at = strategy.get_window_stats(item, *key).reset_time
            except Exception as exc:  # any storage failure fails open, as explained above
                logger.warning("rate limit storage unavailable: %s", exc.__class__.__name__)
                return
            raise TooManyRequests(retry_after=max(1, math.ceil(reset_at - time.time())))

    def count(self, limit_value: str, scope: str) -> None:
        """Count one request against every limit, refusing nothing (it has been served)."""
        strategy: FixedWindowRateLimiter = current_app.extensions["rate_limiter"]
        key = self._key(scope)
        try:
            for item in parse_limits(limit_value):
                strategy.hit(item, *key)
        except Exception as exc:  # the same failing open as in check()
            logger.warning("rate limit storage unavailable: %s", exc.__class__.__name__)

    @staticmethod
    def _key(scope: str) -> tuple[str, str, str]:
        return (KEY_PREFIX, scope, request.remote_addr or "unknown")
