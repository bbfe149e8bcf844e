"""Fixtures for postcode_lookup: loopback fakes, an HTTP session and instant retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from postcode_lookup import CircuitBreaker, MembersApiClient, PostcodesIoClient, RetryPolicy
from tests.clock import FakeClock
from tests.fakes import MembersApiFake, PostcodesIoFake

# Small enough that timeout tests finish in a fraction of a second, large enough for loopback.
CONNECT_TIMEOUT = 0.5
READ_TIMEOUT = 0.5


@pytest.fixture
def sleeps() -> list[float]:
    """The pauses the retry policy asked for, instead of sleeping."""
    return []


@pytest.fixture
def retry(sleeps: list[float]) -> RetryPolicy:
    """Three attempts, no real sleeping, jitter fixed at its maximum."""
    return RetryPolicy(
        max_attempts=3, base_delay=0.1, max_delay=1.0, sleep=sleeps.append, random=lambda: 1.0
    )


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    """A breaker that opens after 3 failed calls and cools down for 30 fake seconds."""
    return CircuitBreaker(failure_threshold=3, reset_timeout=30.0, clock=clock, name="test")


@pytest.fixture
def postcodes_fake() -> Iterator[PostcodesIoFake]:
    """A running postcodes.io fake."""
    with PostcodesIoFake() as fake:
        yield fake


@pytest.fixture
def members_fake() -> Iterator[MembersApiFake]:
    """A running Members API fake."""
    with MembersApiFake() as fake:
        yield fake


@pytest.fixture
def postcodes_client(
    http: requests.Session,
    postcodes_fake: PostcodesIoFake,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
) -> PostcodesIoClient:
    """A postcodes.io client pointed at the fake."""
    return PostcodesIoClient(
        http,
        postcodes_fake.url,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retry=retry,
        breaker=breaker,
    )


@pytest.fixture
def members_client(
    http: requests.Session,
    members_fake: MembersApiFake,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
) -> MembersApiClient:
    """A Members API client pointed at the fake."""
    return MembersApiClient(
        http,
        members_fake.url,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=READ_TIMEOUT,
        retry=retry,
        breaker=breaker,
    )
