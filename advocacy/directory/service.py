"""From a postcode to the right MP: cached constituency look-ups over the MP directory.

A postcode costs one live call to postcodes.io the first time; the answer is kept in the
`postcode_cache` table for `postcode_cache_days`, and a hot postcode is also kept in memory for
a minute (see cache.py), so it costs no query at all. When postcodes.io is down or its circuit
is open, a cached answer of any age is served, and with none the caller offers the list of
constituencies instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta

import requests
from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.directory.cache import MISSING, TTLCache
from advocacy.directory.snapshot import COMMONS_ADDRESS
from advocacy.extensions import db
from advocacy.models import MemberOfParliament, PostcodeCacheEntry, utcnow
from advocacy.validation import is_constituency_code
from postcode_lookup import (
    CircuitBreaker,
    LookupUnavailable,
    Postcode,
    PostcodeResult,
    PostcodesIoClient,
    RetryPolicy,
    constituency_key,
    ensure_westminster,
    parse_postcode,
)

logger = logging.getLogger(__name__)

# The service name in LookupUnavailable when postcodes.io answered but our directory lacks the seat.
DIRECTORY_SERVICE = "the MP directory"


@dataclass(frozen=True)
class Representative:
    """A constituency and its MP as the journey needs them."""

    constituency_code: str
    constituency_name: str
    member_id: int | None
    name: str | None
    party: str | None
    email: str | None
    postal_address: str | None
    postcode: str | None = None

    @property
    def is_vacant(self) -> bool:
        """True when the seat has no MP."""
        return self.member_id is None

    @property
    def letter_address(self) -> str:
        """Where a letter to this MP is posted: their published address, else the Commons."""
        return self.postal_address or COMMONS_ADDRESS

    @property
    def salutation_name(self) -> str:
        """The name a letter opens with."""
        return self.name or "Member of Parliament"

    @classmethod
    def from_row(cls, row: MemberOfParliament) -> Representative:
        """Build from a directory row."""
        return cls(
            constituency_code=row.constituency_code,
            constituency_name=row.constituency_name,
            member_id=row.member_id,
            name=row.name_display,
            party=row.party,
            email=row.email,
            postal_address=row.postal_address,
        )


SessionSource = Session | Callable[[], Session]


class DirectoryService:
    """Finds MPs: one live call per new postcode, cached; the directory serves the rest."""

    def __init__(
        self,
        session: SessionSource,
        client: PostcodesIoClient,
        cache_days: int,
        *,
        cache: TTLCache | None = None,
    ) -> None:
        # A callable is resolved on first use, so an answer from the memory cache never
        # opens a database session.
        self._session_source = session
        self._session: Session | None = session if isinstance(session, Session) else None
        self.client = client
        self.cache_lifetime = timedelta(days=cache_days)
        self.cache = cache if cache is not None else TTLCache(0)

    @property
    def session(self) -> Session:
        """The database session, opened on first use."""
        if self._session is None:
            source = self._session_source
            self._session = source if isinstance(source, Session) else source()
        return self._session

    def find_by_postcode(self, raw: str) -> Representative:
        """The MP for a postcode; raises postcode_lookup errors the page explains."""
        # Parsing is pure but, after the caches, the costliest step of a hot lookup (Unicode
        # normalisation and a score of patterns), so the result for the text as typed is kept
        # too. Only valid postcodes are kept: they are at most 64 characters long.
        postcode: Postcode | object = self.cache.get(("parsed", raw))
        if not isinstance(postcode, Postcode):
            postcode = parse_postcode(raw)
            self.cache.put(("parsed", raw), postcode)
        ensure_westminster(postcode)
        code = self.cache.get(("postcode", postcode.normalised))
        if code is MISSING:
            code = self._constituency_code(postcode)
        rep = self.by_constituency(code)
        if rep is None:
            # postcodes.io knows a constituency our directory does not: the directory is
            # out of date, which is ours to fix, not the person's.
            logger.error("constituency %s missing from the MP directory", code)
            raise LookupUnavailable(
                DIRECTORY_SERVICE, "constituency missing from directory", retryable=False
            )
        return replace(rep, postcode=postcode.normalised)

    def _constituency_code(self, postcode: Postcode) -> str:
        """The postcode's GSS code from the database cache, refreshed from postcodes.io."""
        cached = self.session.get(PostcodeCacheEntry, postcode.normalised)
        if cached is not None and utcnow() - cached.looked_up_at < self.cache_lifetime:
            self.cache.put(("postcode", postcode.normalised), cached.constituency_code)
            return cached.constituency_code
        try:
            result = self.client.lookup(postcode)
        except LookupUnavailable as exc:
            if cached is None:
                raise
            # An outage: a stale answer beats none, constituencies rarely move. It is not
            # kept in memory, so the next request tries postcodes.io again (the breaker
            # stops that from costing anything while the outage lasts).
            logger.warning("postcodes.io unavailable (%s); serving a stale cached answer", exc)
            return cached.constituency_code
        code = self._directory_code(result)
        self._remember(postcode.normalised, code, result.country)
        self.cache.put(("postcode", postcode.normalised), code)
        return code

    def _directory_code(self, result: PostcodeResult) -> str:
        """The directory's code for postcodes.io's constituency, matching by name if need be."""
        if self.by_constituency(result.constituency_code) is not None:
            return result.constituency_code
        # Answers recorded before postcodes.io v17 carry a 2010 code in the first field (e.g.
        # E14000790 for Leyton and Wanstead, now E14001334); the name still finds the seat.
        wanted = constituency_key(result.constituency_name)
        for code, name in self.constituencies():
            if constituency_key(name) == wanted:
                logger.warning(
                    "postcodes.io gave constituency %s, not in the directory; matched %s by name",
                    result.constituency_code,
                    code,
                )
                return code
        return result.constituency_code

    def _remember(self, postcode: str, code: str, country: str | None) -> None:
        entry = self.session.get(PostcodeCacheEntry, postcode)
        if entry is None:
            entry = PostcodeCacheEntry(postcode=postcode, constituency_code=code)
            self.session.add(entry)
        entry.constituency_code = code
        entry.country = country
        entry.looked_up_at = utcnow()
        try:
            self.session.commit()
        except IntegrityError:
            # Another request cached the same postcode at the same moment.
            self.session.rollback()

    def by_constituency(self, code: str) -> Representative | None:
        """The directory's entry for a GSS code, or None if there is no such seat."""
        if not is_constituency_code(code):
            return None
        cached = self.cache.get(("seat", code))
        if cached is not MISSING:
            rep: Representative = cached
            return rep
        row = self.session.get(MemberOfParliament, code)
        if row is None:
            # Unknown codes are not remembered: anyone can send them, and they would push
            # real seats out of the cache.
            return None
        found = Representative.from_row(row)
        self.cache.put(("seat", code), found)
        return found

    def constituencies(self) -> list[tuple[str, str]]:
        """Every (code, name), in name order, for choosing by hand."""
        cached = self.cache.get(("constituencies",))
        if cached is not MISSING:
            return list(cached)
        rows = self.session.execute(
            select(
                MemberOfParliament.constituency_code, MemberOfParliament.constituency_name
            ).order_by(MemberOfParliament.constituency_name)
        ).all()
        found = [(code, name) for code, name in rows]
        self.cache.put(("constituencies",), tuple(found))
        return found


def postcodes_io_client(settings: Settings) -> PostcodesIoClient:
    """A postcodes.io client for web requests: short timeouts, one quick retry, a breaker."""
    http = requests.Session()
    http.headers["User-Agent"] = "advocacy-engine/0.1"
    return PostcodesIoClient(
        http,
        settings.postcodes_io_url,
        connect_timeout=settings.lookup_connect_timeout,
        read_timeout=settings.lookup_read_timeout,
        # A person is waiting: one retry, then the stale cache or the list of constituencies.
        retry=RetryPolicy(max_attempts=2, base_delay=0.1, max_delay=0.5),
        breaker=CircuitBreaker(failure_threshold=5, reset_timeout=30.0, name="postcodes.io"),
    )


def _client(settings: Settings) -> PostcodesIoClient:
    """One client per app: its connection pool and circuit breaker are shared.

    Tests may put their own client in app.extensions["postcodes_io_client"] first.
    """
    ext = current_app.extensions
    client: PostcodesIoClient | None = ext.get("postcodes_io_client")
    if client is None:
        client = ext.setdefault("postcodes_io_client", postcodes_io_client(settings))
    return client


def directory_cache() -> TTLCache:
    """The app's in-memory directory cache (per app, so tests and apps never share it)."""
    ext = current_app.extensions
    cache: TTLCache | None = ext.get("directory_cache")
    if cache is None:
        # Its lifetime (0 turns it off) is the longest a sync run in another process takes
        # to show on this web worker.
        ttl = current_app.config["SETTINGS"].directory_cache_seconds
        cache = ext.setdefault("directory_cache", TTLCache(ttl))
    return cache


def invalidate_directory_cache() -> None:
    """Forget in-memory answers after the directory changed in this process."""
    if has_app_context():
        cache: TTLCache | None = current_app.extensions.get("directory_cache")
        if cache is not None:
            cache.clear()


def _request_session() -> Session:
    return db.session


def get_directory() -> DirectoryService:
    """The directory service for the current request."""
    settings: Settings = current_app.config["SETTINGS"]
    return DirectoryService(
        _request_session, _client(settings), settings.postcode_cache_days, cache=directory_cache()
    )
