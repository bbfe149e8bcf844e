"""RetryPolicy and CircuitBreaker, driven by injected sleep, randomness and clock."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from postcode_lookup import (
    BreakerState,
    CircuitBreaker,
    LookupUnavailable,
    PostcodeNotFound,
    RetryPolicy,
)
from tests.clock import FakeClock


def _flaky(failures: int, result: str = "ok") -> tuple[Callable[[], str], list[int]]:
    """An operation that fails transiently `failures` times, then returns result."""
    calls: list[int] = []

    def operation() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise LookupUnavailable("test", "HTTP 503")
        return result

    return operation, calls


def _transient() -> str:
    raise LookupUnavailable("test", "timeout")


def test_retry_policy_backoff_is_full_jitter_under_an_exponential_cap() -> None:
    policy = RetryPolicy(base_delay=0.1, max_delay=1.0, random=lambda: 1.0)
    assert [policy.backoff(n) for n in range(6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    half = RetryPolicy(base_delay=0.1, max_delay=1.0, random=lambda: 0.5)
    assert half.backoff(2) == pytest.approx(0.2)
    assert RetryPolicy(random=lambda: 0.0).backoff(3) == 0.0


def test_retry_policy_retries_transient_failures_then_succeeds(
    retry: RetryPolicy, sleeps: list[float]
) -> None:
    operation, calls = _flaky(2)
    assert retry.call(operation) == "ok"
    assert len(calls) == 3
    assert sleeps == pytest.approx([0.1, 0.2])


def test_retry_policy_gives_up_after_max_attempts(retry: RetryPolicy, sleeps: list[float]) -> None:
    operation, calls = _flaky(10)
    with pytest.raises(LookupUnavailable):
        retry.call(operation)
    assert len(calls) == 3
    assert len(sleeps) == 2


def test_retry_policy_never_retries_non_retryable_failures(
    retry: RetryPolicy, sleeps: list[float]
) -> None:
    calls: list[int] = []

    def refused() -> str:
        calls.append(1)
        raise LookupUnavailable("test", "HTTP 429", retryable=False)

    with pytest.raises(LookupUnavailable):
        retry.call(refused)
    assert calls == [1]
    assert sleeps == []


def test_retry_policy_never_retries_permanent_answers(
    retry: RetryPolicy, sleeps: list[float]
) -> None:
    calls: list[int] = []

    def not_found() -> str:
        calls.append(1)
        raise PostcodeNotFound("ZZ1 1ZZ")

    with pytest.raises(PostcodeNotFound):
        retry.call(not_found)
    assert calls == [1]


def test_retry_policy_with_one_attempt_does_not_retry(sleeps: list[float]) -> None:
    policy = RetryPolicy(max_attempts=1, sleep=sleeps.append)
    operation, calls = _flaky(1)
    with pytest.raises(LookupUnavailable):
        policy.call(operation)
    assert calls == [1]


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1.0}, {"max_delay": -0.5}])
def test_retry_policy_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_circuit_breaker_opens_after_consecutive_failures(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            breaker.call(_transient)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 2
    with pytest.raises(LookupUnavailable):
        breaker.call(_transient)
    assert breaker.state is BreakerState.OPEN


def test_circuit_breaker_success_resets_the_failure_count(breaker: CircuitBreaker) -> None:
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            breaker.call(_transient)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.consecutive_failures == 0
    for _ in range(2):
        with pytest.raises(LookupUnavailable):
            breaker.call(_transient)
    assert breaker.state is BreakerState.CLOSED


def test_circuit_breaker_counts_permanent_answers_as_success(breaker: CircuitBreaker) -> None:
    def not_found() -> str:
        raise PostcodeNotFound("ZZ1 1ZZ")

    for _ in range(5):
        with pytest.raises(PostcodeNotFound):
            breaker.call(not_found)
    assert breaker.state is BreakerState.CLOSED


def test_circuit_breaker_counts_unexpected_exceptions_as_failures(
    breaker: CircuitBreaker,
) -> None:
    def broken() -> str:
        raise KeyError("surprise")

    for _ in range(3):
        with pytest.raises(KeyError):
            breaker.call(broken)
    assert breaker.state is BreakerState.OPEN


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(breaker.failure_threshold):
        with pytest.raises(LookupUnavailable):
            breaker.call(_transient)
    assert breaker.state is BreakerState.OPEN


def test_circuit_breaker_rejects_immediately_while_open(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.advance(10)
    calls: list[int] = []
    with pytest.raises(LookupUnavailable) as caught:
        breaker.call(lambda: calls.append(1))
    assert calls == []
    assert caught.value.reason == "circuit open"
    assert not caught.value.retryable
    assert caught.value.retry_after == pytest.approx(20.0)
    assert caught.value.service == "test"


def test_circuit_breaker_half_open_lets_one_trial_through_and_closes_on_success(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.advance(30)
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.call(lambda: "recovered") == "recovered"
    assert breaker.state is BreakerState.CLOSED
    assert breaker.consecutive_failures == 0


def test_circuit_breaker_half_open_trial_failure_reopens(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.advance(31)
    with pytest.raises(LookupUnavailable) as caught:
        breaker.call(_transient)
    assert caught.value.reason == "timeout"  # the trial really ran
    assert breaker.state is BreakerState.OPEN
    clock.advance(29)
    with pytest.raises(LookupUnavailable, match="circuit open"):
        breaker.call(lambda: "never runs")


def test_circuit_breaker_half_open_rejects_calls_while_the_trial_runs(
    breaker: CircuitBreaker, clock: FakeClock
) -> None:
    _open(breaker)
    clock.advance(30)
    trial_started, release = threading.Event(), threading.Event()
    results: list[str] = []

    def slow_trial() -> str:
        trial_started.set()
        release.wait(5)
        return "trial done"

    worker = threading.Thread(target=lambda: results.append(breaker.call(slow_trial)))
    worker.start()
    assert trial_started.wait(5)
    with pytest.raises(LookupUnavailable, match="trial call in progress"):
        breaker.call(lambda: "second caller")
    release.set()
    worker.join(5)
    assert results == ["trial done"]
    assert breaker.state is BreakerState.CLOSED


def test_circuit_breaker_is_thread_safe_under_concurrent_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1000, clock=clock)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(100):
            with pytest.raises(LookupUnavailable):
                breaker.call(_transient)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert breaker.consecutive_failures == 800
    assert breaker.state is BreakerState.CLOSED


def test_circuit_breaker_reset_closes_it(breaker: CircuitBreaker) -> None:
    _open(breaker)
    breaker.reset()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.call(lambda: 1) == 1


def test_circuit_breaker_rejects_a_zero_threshold() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
