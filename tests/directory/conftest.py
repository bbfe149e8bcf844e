"""Fixtures for the MP directory: loopback fakes of both APIs, an app with the snapshot."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.directory.snapshot import SnapshotRow, load_snapshot, read_snapshot
from postcode_lookup import CircuitBreaker, PostcodesIoClient, RetryPolicy
from tests.clock import FakeClock
from tests.conftest import make_settings
from tests.fakes import MembersApiFake, PostcodesIoFake
from tests.fakes.server import RecordedRequest, Reply

ALDERSHOT = "E14001063"
SEVENOAKS = "E14001465"
CITIES_OF_LONDON = "E14001172"  # SW1A 1AA in the recorded body


class ControlledMembersApi(MembersApiFake):
    """The Members API fake plus the failures a sync must survive that need a count or a page.

    * ``contact_budget``: contact lists answered normally before every later one answers 503
      (an upstream that falls over part-way through a run).
    * ``fail_search_from``: member-search pages from this ``skip`` on answer 503.
    * ``hidden``: member ids left out of the search results (the list shifting while paged),
      while ``/Members/{id}`` still shows them.
    * ``contact_seconds``: time each contact answer takes, during which it counts as in flight;
      ``max_in_flight`` is the most contact requests ever served at once.
    """

    def __init__(self) -> None:
        super().__init__()
        self._budget_lock = threading.Lock()
        self.contact_budget: int | None = None
        self.fail_search_from: int | None = None
        self.hidden: set[int] = set()
        self.contact_seconds = 0.0
        self._in_flight = 0
        self.max_in_flight = 0

    def handle(self, request: RecordedRequest) -> Reply:
        """Apply the controls, then answer as the plain fake does."""
        path = request.path.lower()
        if path.endswith("/contact") and self.contact_budget is not None:
            with self._budget_lock:
                if self.contact_budget <= 0:
                    return self.error_reply(503)
                self.contact_budget -= 1
        if path.endswith("/contact") and self.contact_seconds:
            return self._timed(request)
        if path.endswith("/members/search"):
            skip = int(request.param("skip") or 0)
            if self.fail_search_from is not None and skip >= self.fail_search_from:
                return self.error_reply(503)
            if self.hidden:
                return self._without_hidden(super().handle(request))
        return super().handle(request)

    def _timed(self, request: RecordedRequest) -> Reply:
        with self._budget_lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            time.sleep(self.contact_seconds)
            return super().handle(request)
        finally:
            with self._budget_lock:
                self._in_flight -= 1

    def _without_hidden(self, reply: Reply) -> Reply:
        body = json.loads(reply.body)
        kept = [item for item in body["items"] if item["value"]["id"] not in self.hidden]
        body["totalResults"] -= len(body["items"]) - len(kept)
        body["items"] = kept
        return Reply.json(reply.status, body)

    def search_requests(self) -> list[RecordedRequest]:
        """The member-search requests received so far."""
        return [r for r in self.requests if r.path.lower().endswith("/members/search")]

    def contact_requests(self) -> list[RecordedRequest]:
        """The contact-list requests received so far."""
        return [r for r in self.requests if r.path.lower().endswith("/contact")]


def snapshot_rows() -> dict[str, SnapshotRow]:
    """The shipped snapshot by GSS code."""
    return {row.constituency_code: row for row in read_snapshot()}


@pytest.fixture
def postcodes_io() -> Iterator[PostcodesIoFake]:
    """A fake postcodes.io serving the recorded postcodes and a few more."""
    with PostcodesIoFake(recorded=True) as fake:
        fake.add_postcode("GU11 1AA", constituency_code=ALDERSHOT)
        fake.add_postcode("PE12 6AA", constituency_code="E14001487")  # South Holland...
        fake.add_postcode("JE2 3AB", constituency_code="L99999999", country="Channel Islands")
        fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Settings pointing the app at the fake postcodes.io."""
    return make_settings(
        database_url, tmp_path / "instance", env={"POSTCODES_IO_URL": postcodes_io.url}
    )


@pytest.fixture
def seeded(app: Flask, session: Session) -> Flask:
    """The app with the shipped MP directory loaded."""
    load_snapshot(session)
    session.commit()
    return app


@pytest.fixture
def breaker(clock: FakeClock) -> CircuitBreaker:
    """A breaker that opens after 3 failed lookups and cools down for 30 fake seconds."""
    return CircuitBreaker(failure_threshold=3, reset_timeout=30.0, clock=clock, name="postcodes.io")


@pytest.fixture
def lookup_client(
    http: requests.Session, postcodes_io: PostcodesIoFake, breaker: CircuitBreaker
) -> PostcodesIoClient:
    """A postcodes.io client on the fake: two tries, no real sleeping, the fake-clock breaker."""
    return PostcodesIoClient(
        http,
        postcodes_io.url,
        connect_timeout=0.5,
        read_timeout=0.5,
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, sleep=lambda _: None),
        breaker=breaker,
    )
