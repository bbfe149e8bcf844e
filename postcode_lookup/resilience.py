"""Bounded retries with jittered backoff, and a circuit breaker, for calls to upstream APIs.

Both work on callables that signal a transient upstream failure by raising ``LookupUnavailable``
with ``retryable=True`` (timeouts, dropped connections, 5xx). A 4xx answer is never raised that
way, so it is never retried. Time, sleep and randomness are injectable so tests run instantly.
"""

from __future__ import annotations

import logging
import random as _random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from .errors import LookupUnavailable, PostcodeLookupError

__all__ = ["BreakerState", "CircuitBreaker", "RetryPolicy"]

logger = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Retry transient failures, up to max_attempts tries, with exponential backoff and jitter."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 2.0
    sleep: Callable[[float], None] = time.sleep
    random: Callable[[], float] = _random.random

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry_number: int) -> float:
        """The pause before retry number retry_number (0-based): uniform in [0, cap)."""
        # Full jitter (AWS architecture blog, "Exponential Backoff and Jitter"): spreading retries
        # over the whole window stops many web workers from hammering a recovering API in step.
        cap = min(self.max_delay, self.base_delay * (2.0**retry_number))
        return cap * self.random()

    def call(self, operation: Callable[[], T], *, label: str = "call") -> T:
        """Run operation, retrying it while it raises a retryable LookupUnavailable."""
        attempt = 1
        while True:
            try:
                return operation()
            except LookupUnavailable as exc:
                if not exc.retryable or attempt >= self.max_attempts:
                    raise
                delay = self.backoff(attempt - 1)
                logger.info(
                    "%s failed (%s), retry %d of %d in %.3fs",
                    label,
                    exc.reason,
                    attempt,
                    self.max_attempts - 1,
                    delay,
                )
                self.sleep(delay)
                attempt += 1


class BreakerState(StrEnum):
    """The three states of a circuit breaker."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Stop calling an upstream after repeated failures; try one call again after a cool-down.

    Closed: calls pass; ``failure_threshold`` consecutive failures open the circuit.
    Open: calls fail at once with LookupUnavailable (not retryable) until ``reset_timeout``
    seconds have passed. Half-open: exactly one trial call passes, the rest are rejected; its
    success closes the circuit, its failure opens it again for another cool-down.

    A failure is a LookupUnavailable (or an unexpected exception). Any other PostcodeLookupError,
    such as PostcodeNotFound, is a healthy upstream giving a permanent answer: a success.
    """

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "the lookup service",
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        """The current state; an open circuit whose cool-down has passed reports half-open."""
        with self._lock:
            if self._state is BreakerState.OPEN and self._cooled_down():
                return BreakerState.HALF_OPEN
            return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures since the last success."""
        with self._lock:
            return self._failures

    def reset(self) -> None:
        """Close the circuit and forget past failures."""
        with self._lock:
            self._close()

    def call(self, operation: Callable[[], T]) -> T:
        """Run operation through the breaker, or raise LookupUnavailable if the circuit is open."""
        self._before_call()
        try:
            result = operation()
        except LookupUnavailable:
            self._record_failure()
            raise
        except PostcodeLookupError:
            self._record_success()
            raise
        except BaseException:
            # Unknown trouble counts against the upstream, and must free the half-open slot.
            self._record_failure()
            raise
        self._record_success()
        return result

    def _cooled_down(self) -> bool:
        return self._clock() - self._opened_at >= self.reset_timeout

    def _before_call(self) -> None:
        with self._lock:
            if self._state is BreakerState.CLOSED:
                return
            if self._state is BreakerState.OPEN:
                if not self._cooled_down():
                    remaining = self.reset_timeout - (self._clock() - self._opened_at)
                    raise LookupUnavailable(
                        self.name, "circuit open", retryable=False, retry_after=remaining
                    )
                self._state = BreakerState.HALF_OPEN
                logger.info("circuit for %s half-open: letting one trial call through", self.name)
            if self._trial_in_flight:
                raise LookupUnavailable(
                    self.name,
                    "circuit half-open, trial call in progress",
                    retryable=False,
                    retry_after=self.reset_timeout,
                )
            self._trial_in_flight = True

    def _record_success(self) -> None:
        with self._lock:
            if self._state is not BreakerState.CLOSED:
                logger.info("circuit for %s closed again", self.name)
            self._close()

    def _record_failure(self) -> None:
        with self._lock:
            self._failures += 1
            if self._state is BreakerState.HALF_OPEN or (
                self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold
            ):
                self._open()

    def _open(self) -> None:
        self._state = BreakerState.OPEN
        self._opened_at = self._clock()
        self._trial_in_flight = False
        logger.warning(
            "circuit for %s opened after %d consecutive failures; pausing calls for %.1fs",
            self.name,
            self._failures,
            self.reset_timeout,
        )

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._trial_in_flight = False
