"""DirectoryService: the database cache, the memory cache, outages and the circuit breaker."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from advocacy import create_app
from advocacy.config import Settings
from advocacy.directory.cache import MISSING, TTLCache
from advocacy.directory.service import DirectoryService, get_directory
from advocacy.extensions import db
from advocacy.models import MemberOfParliament, PostcodeCacheEntry, utcnow
from postcode_lookup import (
    BFPOPostcode,
    BreakerState,
    CircuitBreaker,
    InvalidPostcode,
    LookupUnavailable,
    OutsideParliament,
    OverseasPostcode,
    PostcodeNotFound,
    PostcodesIoClient,
    PostcodeTerminated,
)
from tests.clock import FakeClock
from tests.directory.conftest import ALDERSHOT, CITIES_OF_LONDON
from tests.fakes import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
def service(session: Session, lookup_client: PostcodesIoClient) -> DirectoryService:
    """A service with no memory cache, so every call reaches the database."""
    return DirectoryService(session, lookup_client, cache_days=90)


@pytest.fixture
def queries() -> Iterator[list[str]]:
    """Every SQL statement the app's engine runs during the test."""
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(str(args[2]))

    assert db.engine is not None
    event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    event.remove(db.engine, "before_cursor_execute", record)


def state_of(breaker: CircuitBreaker) -> BreakerState:
    """The breaker's state, read afresh (a function call, so type checkers do not narrow it)."""
    return breaker.state


def _age_entry(session: Session, postcode: str, days: int) -> None:
    entry = session.get(PostcodeCacheEntry, postcode)
    assert entry is not None
    entry.looked_up_at = utcnow() - timedelta(days=days)
    session.commit()


def test_find_by_postcode_first_lookup_asks_upstream_once_and_caches(
    service: DirectoryService, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    rep = service.find_by_postcode("gu111aa")
    assert (rep.constituency_code, rep.name, rep.postcode) == (ALDERSHOT, "Alex Baker", "GU11 1AA")
    assert [r.path for r in postcodes_io.requests] == ["/postcodes/GU111AA"]
    entry = session.get(PostcodeCacheEntry, "GU11 1AA")
    assert entry is not None
    assert (entry.constituency_code, entry.country) == (ALDERSHOT, "England")


def test_find_by_postcode_fresh_cache_hit_makes_no_upstream_call(
    service: DirectoryService, postcodes_io: PostcodesIoFake
) -> None:
    service.find_by_postcode("GU11 1AA")
    postcodes_io.clear_requests()
    postcodes_io.fail_always(status=500)
    assert service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT
    assert postcodes_io.request_count == 0


def test_find_by_postcode_expired_entry_refreshes(
    service: DirectoryService, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    service.find_by_postcode("GU11 1AA")
    _age_entry(session, "GU11 1AA", days=91)
    # The postcode has moved to another seat since it was cached.
    postcodes_io.add_postcode("GU11 1AA", constituency_code="E14001465")
    postcodes_io.clear_requests()
    rep = service.find_by_postcode("GU11 1AA")
    assert rep.constituency_code == "E14001465"
    assert postcodes_io.request_count == 1
    entry = session.get(PostcodeCacheEntry, "GU11 1AA")
    assert entry is not None
    assert entry.constituency_code == "E14001465"
    assert utcnow() - entry.looked_up_at < timedelta(minutes=1)


def test_find_by_postcode_outage_serves_the_stale_entry(
    service: DirectoryService, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    service.find_by_postcode("GU11 1AA")
    _age_entry(session, "GU11 1AA", days=400)
    postcodes_io.fail_always(status=503)
    assert service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT


def test_find_by_postcode_outage_without_entry_raises_unavailable(
    service: DirectoryService, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.fail_always(status=500)
    with pytest.raises(LookupUnavailable) as caught:
        service.find_by_postcode("GU11 1AA")
    assert caught.value.code == "lookup_unavailable"
    # Two tries (one retry), no more: someone is waiting for the page.
    assert postcodes_io.request_count == 2


def test_find_by_postcode_dropped_connection_is_an_outage(
    service: DirectoryService, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.reset_next(2)
    with pytest.raises(LookupUnavailable):
        service.find_by_postcode("GU11 1AA")


def test_find_by_postcode_slow_upstream_times_out_then_retry_succeeds(
    service: DirectoryService, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.slow_next(1.0)  # beyond the 0.5 s read timeout
    assert service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT
    assert postcodes_io.request_count == 2


def test_find_by_postcode_constituency_missing_from_directory_raises_unavailable(
    service: DirectoryService, session: Session
) -> None:
    seat = session.get(MemberOfParliament, ALDERSHOT)
    session.delete(seat)
    session.commit()
    with pytest.raises(LookupUnavailable) as caught:
        service.find_by_postcode("GU11 1AA")
    assert caught.value.service == "the MP directory"


def test_find_by_postcode_old_2010_code_is_matched_by_name(service: DirectoryService) -> None:
    # Recorded before postcodes.io v17: the first field holds the 2010 code E14000790.
    rep = service.find_by_postcode("E10 5LL")
    assert (rep.constituency_code, rep.constituency_name) == ("E14001334", "Leyton and Wanstead")


@pytest.mark.parametrize(
    ("postcode", "code"),
    [
        ("SW1A 1AA", CITIES_OF_LONDON),
        ("BS1 1DA", "E14001131"),
        ("TR18 5EG", "E14001511"),
        ("BR8 7RE", "E14001465"),
        ("PE12 6AA", "E14001487"),  # postcodes.io says "The Deepings", Parliament "the"
    ],
)
def test_find_by_postcode_recorded_bodies_reach_the_right_seat(
    service: DirectoryService, postcode: str, code: str
) -> None:
    rep = service.find_by_postcode(postcode)
    assert rep.constituency_code == code
    assert rep.email is not None


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("not a postcode", InvalidPostcode),
        ("ZZ1 1ZZ", PostcodeNotFound),
        ("AB1 0AA", PostcodeTerminated),
        ("JE2 3AB", OutsideParliament),
        ("BFPO 123", BFPOPostcode),
        ("FIQQ 1ZZ", OverseasPostcode),
    ],
)
def test_find_by_postcode_permanent_answers_raise_and_are_not_cached(
    service: DirectoryService, session: Session, raw: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        service.find_by_postcode(raw)
    assert session.scalars(select(PostcodeCacheEntry)).all() == []


def test_find_by_postcode_crown_dependency_needs_no_request(
    service: DirectoryService, postcodes_io: PostcodesIoFake
) -> None:
    with pytest.raises(OutsideParliament):
        service.find_by_postcode("JE2 3AB")
    assert postcodes_io.request_count == 0


def test_breaker_opens_after_repeated_failures_then_fails_fast(
    service: DirectoryService,
    postcodes_io: PostcodesIoFake,
    breaker: CircuitBreaker,
    clock: FakeClock,
) -> None:
    postcodes_io.fail_always(status=502)
    for _ in range(3):
        with pytest.raises(LookupUnavailable):
            service.find_by_postcode("GU11 1AA")
    assert breaker.state is BreakerState.OPEN
    postcodes_io.clear_requests()
    with pytest.raises(LookupUnavailable) as caught:
        service.find_by_postcode("BS1 1DA")
    assert postcodes_io.request_count == 0
    assert caught.value.reason == "circuit open"
    assert caught.value.retry_after == pytest.approx(30.0)

    # After the cool-down one trial call goes through, and its success closes the circuit.
    clock.advance(31)
    postcodes_io.clear_faults()
    assert service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT
    assert state_of(breaker) is BreakerState.CLOSED


def test_breaker_half_open_trial_failure_opens_it_again(
    service: DirectoryService,
    postcodes_io: PostcodesIoFake,
    breaker: CircuitBreaker,
    clock: FakeClock,
) -> None:
    postcodes_io.fail_always(status=500)
    for _ in range(3):
        with pytest.raises(LookupUnavailable):
            service.find_by_postcode("GU11 1AA")
    clock.advance(31)
    postcodes_io.clear_requests()
    with pytest.raises(LookupUnavailable):
        service.find_by_postcode("GU11 1AA")
    # One trial call (the breaker wraps the retries, so it is tried twice), then open again.
    assert postcodes_io.request_count == 2
    assert breaker.state is BreakerState.OPEN


def test_stale_entry_is_served_while_the_circuit_is_open(
    service: DirectoryService,
    postcodes_io: PostcodesIoFake,
    session: Session,
    breaker: CircuitBreaker,
) -> None:
    service.find_by_postcode("GU11 1AA")
    _age_entry(session, "GU11 1AA", days=100)
    postcodes_io.fail_always(status=500)
    for _ in range(3):
        with pytest.raises(LookupUnavailable):
            service.find_by_postcode("BS1 1DA")
    assert breaker.state is BreakerState.OPEN
    postcodes_io.clear_requests()
    assert service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT
    assert postcodes_io.request_count == 0


def test_by_constituency_unknown_code_is_none(service: DirectoryService) -> None:
    assert service.by_constituency("E14999999") is None
    rep = service.by_constituency(ALDERSHOT)
    assert rep is not None
    assert rep.postcode is None


def test_constituencies_lists_all_650_in_name_order(service: DirectoryService) -> None:
    seats = service.constituencies()
    assert len(seats) == 650
    assert [name for _, name in seats] == sorted(name for _, name in seats)


# The memory cache in front of the database


@pytest.fixture
def cached_service(
    session: Session, lookup_client: PostcodesIoClient, clock: FakeClock
) -> DirectoryService:
    """A service with a 60 s memory cache on the fake clock."""
    return DirectoryService(session, lookup_client, 90, cache=TTLCache(60, clock=clock))


def test_memory_cache_hit_makes_no_query_and_no_request(
    cached_service: DirectoryService, postcodes_io: PostcodesIoFake, queries: list[str]
) -> None:
    cached_service.find_by_postcode("GU11 1AA")
    queries.clear()
    postcodes_io.clear_requests()
    rep = cached_service.find_by_postcode("gu11 1aa")
    assert (rep.name, rep.postcode) == ("Alex Baker", "GU11 1AA")
    assert queries == []
    assert postcodes_io.request_count == 0


def test_memory_cache_hit_opens_no_database_session(
    session: Session, lookup_client: PostcodesIoClient, clock: FakeClock
) -> None:
    cache = TTLCache(60, clock=clock)
    DirectoryService(session, lookup_client, 90, cache=cache).find_by_postcode("GU11 1AA")
    opened: list[int] = []

    def open_session() -> Session:
        opened.append(1)
        return session

    assert DirectoryService(open_session, lookup_client, 90, cache=cache).find_by_postcode(
        "GU11 1AA"
    )
    assert opened == []


def test_memory_cache_shows_a_directory_change_once_the_ttl_passes(
    cached_service: DirectoryService, session: Session, clock: FakeClock
) -> None:
    assert cached_service.find_by_postcode("GU11 1AA").party == "Labour"
    seat = session.get(MemberOfParliament, ALDERSHOT)
    assert seat is not None
    seat.party = "Independent"
    session.commit()
    clock.advance(59)
    assert cached_service.find_by_postcode("GU11 1AA").party == "Labour"
    clock.advance(2)
    assert cached_service.find_by_postcode("GU11 1AA").party == "Independent"


def test_memory_cache_does_not_keep_a_stale_outage_answer(
    cached_service: DirectoryService, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    cached_service.find_by_postcode("GU11 1AA")
    cached_service.cache.clear()
    _age_entry(session, "GU11 1AA", days=100)
    postcodes_io.fail_next(2, status=503)
    assert cached_service.find_by_postcode("GU11 1AA").constituency_code == ALDERSHOT
    assert cached_service.cache.get(("postcode", "GU11 1AA")) is MISSING
    postcodes_io.clear_requests()
    cached_service.find_by_postcode("GU11 1AA")
    assert postcodes_io.request_count == 1  # back up: the stale entry is refreshed


@pytest.fixture
def other_app(app: Flask, settings: Settings) -> Iterator[Callable[..., Flask]]:
    """Build a second app; afterwards its engine is closed and the first app's restored.

    The database extension is one object, so create_app() points it at a new engine; the
    first app's pooled connections must not be dropped unclosed.
    """
    engine, factory = db.engine, db.session_factory
    built: list[Flask] = []

    def build(**changes: object) -> Flask:
        built.append(create_app(dataclasses.replace(settings, **changes), TESTING=True))
        return built[-1]

    yield build
    if built:
        db.dispose()
        db.engine, db.session_factory = engine, factory


def test_get_directory_keeps_one_cache_per_app(
    other_app: Callable[..., Flask], postcodes_io: PostcodesIoFake
) -> None:
    first = get_directory()
    assert first.cache is get_directory().cache
    first.find_by_postcode("GU11 1AA")
    with other_app().app_context():
        assert get_directory().cache is not first.cache
        assert len(get_directory().cache) == 0


def test_get_directory_cache_seconds_zero_turns_the_memory_cache_off(
    other_app: Callable[..., Flask], postcodes_io: PostcodesIoFake
) -> None:
    with other_app(directory_cache_seconds=0).app_context():
        directory = get_directory()
        directory.find_by_postcode("GU11 1AA")
        assert len(directory.cache) == 0


def test_ttl_cache_is_bounded(clock: FakeClock) -> None:
    cache = TTLCache(60, max_entries=10, clock=clock)
    for number in range(25):
        cache.put(number, number)
    assert len(cache) <= 10
    assert cache.get(24) == 24
    clock.advance(61)
    assert cache.get(24) is MISSING
    cache.put("fresh", 1)  # expired entries make room first
    assert len(cache) <= 10
