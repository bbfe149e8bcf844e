"""From a postcode to the right MP: cached constituency look-ups over the MP directory."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import timedelta

import requests
from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.extensions import db
from advocacy.models import MemberOfParliament, PostcodeCacheEntry, utcnow
from postcode_lookup import (
    CircuitBreaker,
    LookupUnavailable,
    PostcodesIoClient,
    ensure_westminster,
    parse_postcode,
)

logger = logging.getLogger(__name__)


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


class DirectoryService:
    """Finds MPs: one live call per new postcode, cached; the directory serves the rest."""

    def __init__(self, session: Session, client: PostcodesIoClient, cache_days: int) -> None:
        self.session = session
        self.client = client
        self.cache_lifetime = timedelta(days=cache_days)

    def find_by_postcode(self, raw: str) -> Representative:
        """The MP for a postcode; raises postcode_lookup errors the page explains."""
        postcode = parse_postcode(raw)
        ensure_westminster(postcode)
        cached = self.session.get(PostcodeCacheEntry, postcode.normalised)
        code: str
        if cached is not None and utcnow() - cached.looked_up_at < self.cache_lifetime:
            code = cached.constituency_code
        else:
            try:
                result = self.client.lookup(postcode)
            except LookupUnavailable:
                if cached is None:
                    raise
                # An outage: a stale answer beats none, constituencies rarely move.
                logger.warning("postcodes.io unavailable; serving a stale cached answer")
                code = cached.constituency_code
            else:
                code = result.constituency_code
                self._remember(postcode.normalised, code, result.country)
        rep = self.by_constituency(code)
        if rep is None:
            # postcodes.io knows a constituency our directory does not: the directory is
            # out of date, which is ours to fix, not the person's.
            logger.error("constituency %s missing from the MP directory", code)
            raise LookupUnavailable("postcodes.io", "constituency missing from directory")
        return replace(rep, postcode=postcode.normalised)

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
        row = self.session.get(MemberOfParliament, code)
        return Representative.from_row(row) if row is not None else None

    def constituencies(self) -> list[tuple[str, str]]:
        """Every (code, name), in name order, for choosing by hand."""
        rows = self.session.execute(
            select(
                MemberOfParliament.constituency_code, MemberOfParliament.constituency_name
            ).order_by(MemberOfParliament.constituency_name)
        ).all()
        return [(code, name) for code, name in rows]


def _client(settings: Settings) -> PostcodesIoClient:
    """One client per process: its connection pool and circuit breaker are shared."""
    ext = current_app.extensions
    client: PostcodesIoClient | None = ext.get("postcodes_io_client")
    if client is None:
        http = requests.Session()
        http.headers["User-Agent"] = "advocacy-engine/0.1"
        client = PostcodesIoClient(
            http,
            settings.postcodes_io_url,
            connect_timeout=settings.lookup_connect_timeout,
            read_timeout=settings.lookup_read_timeout,
            breaker=CircuitBreaker(),
        )
        ext["postcodes_io_client"] = client
    return client


def get_directory() -> DirectoryService:
    """The directory service for the current request."""
    settings: Settings = current_app.config["SETTINGS"]
    return DirectoryService(db.session, _client(settings), settings.postcode_cache_days)
