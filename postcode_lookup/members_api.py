"""A client for the UK Parliament Members API: constituency -> current MP -> contact details."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Final

import requests

from ._http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    JsonTransport,
    UpstreamResponse,
    as_list,
    as_object,
    get_bool,
    get_int,
    get_object,
    get_str,
    unexpected,
)
from .errors import ConstituencyNotFound, MemberNotFound, VacantSeat
from .resilience import CircuitBreaker, RetryPolicy

__all__ = [
    "DEFAULT_POSTAL_ADDRESS",
    "EMAIL_OFFICE_ORDER",
    "Constituency",
    "Contact",
    "Member",
    "MembersApiClient",
    "PostalAddress",
    "constituency_key",
    "same_constituency_name",
]

logger = logging.getLogger(__name__)

SERVICE: Final = "the Parliament members directory"

# The spec caps take at 20 for every search endpoint.
PAGE_SIZE: Final = 20
# Bounds on paging, so an upstream that miscounts totalResults cannot keep us looping.
_MAX_SEARCH_PAGES: Final = 10
_MAX_MEMBER_PAGES: Final = 100
_COMMONS: Final = 1

# Which contact entry's email to use, by typeId, best first: 1 "Parliamentary office" is read by
# the MP's Westminster staff, 4 "Constituency office" by the local caseworkers. Any other entry
# that is not a web address (e.g. 1009 "Prime Minister's office") comes after these, in the order
# the API lists them. The same order picks the postal address when there is no email.
EMAIL_OFFICE_ORDER: Final = (1, 4)


@dataclass(frozen=True)
class PostalAddress:
    """A postal address: its lines and postcode."""

    lines: tuple[str, ...]
    postcode: str | None = None

    def as_lines(self) -> tuple[str, ...]:
        """The address lines followed by the postcode, as printed on an envelope."""
        return (*self.lines, self.postcode) if self.postcode else self.lines

    def __str__(self) -> str:
        return ", ".join(self.as_lines())


# Every MP can be written to at the House of Commons; used when the directory lists no address.
DEFAULT_POSTAL_ADDRESS: Final = PostalAddress(("House of Commons", "London"), "SW1A 0AA")


@dataclass(frozen=True)
class Member:
    """A member of either House, as the Members API describes them."""

    member_id: int
    name_display: str
    name_full_title: str | None
    name_list_as: str | None
    party: str | None
    constituency_name: str | None
    constituency_id: int | None
    house: int | None
    gender: str | None
    status_active: bool | None
    status_description: str | None
    start_date: date | None
    end_date: date | None = None


@dataclass(frozen=True)
class Constituency:
    """A constituency in Parliament's directory (its id is Parliament's, not a GSS code)."""

    constituency_id: int
    name: str
    start_date: date | None
    end_date: date | None

    @property
    def is_current(self) -> bool:
        """False for constituencies abolished at a boundary change."""
        return self.end_date is None


@dataclass(frozen=True)
class Contact:
    """How to reach a member: the chosen email, or failing that a postal address.

    ``postal_address`` is always filled (falling back to the House of Commons), so a page can
    offer "write a letter instead" whether or not there is an email.
    """

    member_id: int
    email: str | None
    email_office: str | None
    postal_address: PostalAddress

    @property
    def has_email(self) -> bool:
        """True when the member lists an email address."""
        return self.email is not None


def constituency_key(name: str) -> str:
    """A constituency name reduced for matching: case, accents, "&"/"and" and "the" ignored."""
    # Parliament and postcodes.io spell three seats differently: "Bridlington and The Wolds" /
    # "...the Wolds", "South Holland and The Deepings" / "...the Deepings", and
    # "Montgomeryshire and Glyndwr" / "...Glyndŵr"; others may differ by "&" or punctuation.
    text = unicodedata.normalize("NFKD", name)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.casefold().replace("&", " and ")
    return " ".join(word for word in re.findall(r"[^\W_]+", text) if word != "the")


def same_constituency_name(a: str, b: str) -> bool:
    """Compare constituency names ignoring case, accents, punctuation, "&"/"and" and "the"."""
    return constituency_key(a) == constituency_key(b)


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _parse_member(value: Mapping[str, object]) -> Member:
    member_id = get_int(value, "id")
    if member_id is None:
        raise unexpected(SERVICE, "member without an id")
    party = get_object(value, "latestParty") or {}
    membership = get_object(value, "latestHouseMembership") or {}
    status = get_object(membership, "membershipStatus") or {}
    return Member(
        member_id=member_id,
        name_display=get_str(value, "nameDisplayAs")
        or get_str(value, "nameListAs")
        or f"Member {member_id}",
        name_full_title=get_str(value, "nameFullTitle"),
        name_list_as=get_str(value, "nameListAs"),
        party=get_str(party, "name"),
        constituency_name=get_str(membership, "membershipFrom"),
        constituency_id=get_int(membership, "membershipFromId"),
        house=get_int(membership, "house"),
        gender=get_str(value, "gender"),
        status_active=get_bool(status, "statusIsActive"),
        status_description=get_str(status, "statusDescription"),
        start_date=_parse_date(get_str(membership, "membershipStartDate")),
        end_date=_parse_date(get_str(membership, "membershipEndDate")),
    )


def _parse_constituency(value: Mapping[str, object]) -> Constituency | None:
    constituency_id, name = get_int(value, "id"), get_str(value, "name")
    if constituency_id is None or name is None:
        return None
    return Constituency(
        constituency_id=constituency_id,
        name=name,
        start_date=_parse_date(get_str(value, "startDate")),
        end_date=_parse_date(get_str(value, "endDate")),
    )


def _office_rank(entry: Mapping[str, object]) -> int:
    type_id = get_int(entry, "typeId")
    if type_id is not None and type_id in EMAIL_OFFICE_ORDER:
        return EMAIL_OFFICE_ORDER.index(type_id)
    return len(EMAIL_OFFICE_ORDER)


def _address(entry: Mapping[str, object]) -> PostalAddress | None:
    lines = tuple(
        line
        for key in ("line1", "line2", "line3", "line4", "line5")
        if (line := get_str(entry, key))
    )
    postcode = get_str(entry, "postcode")
    if not lines:
        return None
    return PostalAddress(lines, postcode)


def _parse_contact(member_id: int, entries: list[object]) -> Contact:
    offices = [
        entry
        for item in entries
        if (entry := as_object(item)) is not None and not get_bool(entry, "isWebAddress")
    ]
    # sorted() is stable, so entries of equal rank keep the order the API lists them in.
    ranked = sorted(offices, key=_office_rank)
    email = email_office = None
    for entry in ranked:
        if (email := get_str(entry, "email")) is not None:
            email_office = get_str(entry, "type")
            break
    address = next(
        (found for entry in ranked if (found := _address(entry)) is not None),
        DEFAULT_POSTAL_ADDRESS,
    )
    return Contact(
        member_id=member_id, email=email, email_office=email_office, postal_address=address
    )


def _fallback_search_text(name: str) -> str | None:
    # If the full name finds nothing (Parliament may spell "Glyndwr" as "Glyndŵr"), search for
    # the longest plain-ASCII word instead and let the loose comparison pick the seat.
    words: list[str] = [w for w in re.findall(r"[A-Za-z]+", name) if len(w) >= 4]
    if not words:
        return None
    return max(words, key=len)


class MembersApiClient:
    """Find current MPs and their contact details, with timeouts, retries and a breaker."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str = "https://members-api.parliament.uk",
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        base_url = base_url.rstrip("/")
        # Paths carry the /api prefix; accept a base URL that already ends with it, as
        # Parliament's own documentation writes it.
        base_url = base_url.removesuffix("/api")
        self._http = JsonTransport(
            session,
            base_url,
            service=SERVICE,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retry=retry,
            breaker=breaker,
        )

    @property
    def breaker(self) -> CircuitBreaker:
        """The circuit breaker guarding this client (shared by all its calls)."""
        return self._http.breaker

    def find_constituency(self, constituency_name: str) -> Constituency:
        """Find a constituency by exact (loosely compared) name, preferring current ones."""
        candidates = self._search_constituencies(constituency_name, constituency_name)
        fallback = _fallback_search_text(constituency_name)
        if not candidates and fallback and fallback != constituency_name:
            candidates = self._search_constituencies(fallback, constituency_name)
        if not candidates:
            logger.info("no constituency in the members directory matches the name searched")
            raise ConstituencyNotFound(constituency_name)
        wanted = constituency_name.casefold()

        def preference(c: Constituency) -> tuple[bool, bool, date]:
            return (c.is_current, c.name.casefold() == wanted, c.start_date or date.min)

        return max(candidates, key=preference)

    def _search_constituencies(self, search_text: str, name: str) -> list[Constituency]:
        matches: list[Constituency] = []
        skip = 0
        for _ in range(_MAX_SEARCH_PAGES):
            answer = self._http.get(
                "/api/Location/Constituency/Search",
                label="constituency search",
                params={"searchText": search_text, "skip": skip, "take": PAGE_SIZE},
            )
            body = self._ok(answer, "constituency search")
            items = as_list(body.get("items"))
            for item in items:
                value = get_object(as_object(item) or {}, "value")
                found = _parse_constituency(value) if value is not None else None
                if found is not None and same_constituency_name(found.name, name):
                    matches.append(found)
            skip += len(items)
            total = get_int(body, "totalResults") or 0
            # A "contains" search can list abolished seats of the same name; stop once a current
            # one is found.
            if not items or skip >= total or any(m.is_current for m in matches):
                break
        return matches

    def current_mp(self, constituency_name: str, *, constituency_code: str | None = None) -> Member:
        """The sitting MP for a constituency name; raise VacantSeat if there is none."""
        constituency = self.find_constituency(constituency_name)
        answer = self._http.get(
            f"/api/Location/Constituency/{constituency.constituency_id}",
            label="constituency",
        )
        if answer.status == 404:
            raise ConstituencyNotFound(constituency_name)
        body = self._ok(answer, "constituency")
        value = get_object(body, "value") or {}
        representation = get_object(value, "currentRepresentation")
        member = get_object(get_object(representation or {}, "member") or {}, "value")
        if member is None:
            logger.info("constituency %d is vacant", constituency.constituency_id)
            raise VacantSeat(
                get_str(value, "name") or constituency.name,
                constituency_id=constituency.constituency_id,
                constituency_code=constituency_code,
            )
        return _parse_member(member)

    def member(self, member_id: int) -> Member:
        """One member by their Members API id."""
        answer = self._http.get(f"/api/Members/{int(member_id)}", label="member")
        if answer.status == 404:
            raise MemberNotFound(member_id)
        value = get_object(self._ok(answer, "member"), "value")
        if value is None:
            raise unexpected(SERVICE, "member without a value")
        return _parse_member(value)

    def contacts(self, member_id: int) -> Contact:
        """A member's email (by EMAIL_OFFICE_ORDER) and postal address."""
        answer = self._http.get(f"/api/Members/{int(member_id)}/Contact", label="contact")
        if answer.status == 404:
            raise MemberNotFound(member_id)
        body = self._ok(answer, "contact")
        contact = _parse_contact(member_id, as_list(body.get("value")))
        if not contact.has_email:
            logger.info("member %d lists no email; using a postal address", member_id)
        return contact

    def current_commons_members(self) -> Iterator[Member]:
        """Every current MP, paging through Members/Search 20 at a time."""
        seen: set[int] = set()
        skip = 0
        for _ in range(_MAX_MEMBER_PAGES):
            answer = self._http.get(
                "/api/Members/Search",
                label="members search",
                params={
                    "House": _COMMONS,
                    "IsCurrentMember": "true",
                    "skip": skip,
                    "take": PAGE_SIZE,
                },
            )
            body = self._ok(answer, "members search")
            items = as_list(body.get("items"))
            for item in items:
                value = get_object(as_object(item) or {}, "value")
                if value is None:
                    continue
                member = _parse_member(value)
                # Membership can change between pages; never yield anyone twice.
                if member.member_id not in seen:
                    seen.add(member.member_id)
                    yield member
            skip += len(items)
            if not items or skip >= (get_int(body, "totalResults") or 0):
                return
        logger.warning("stopped paging current members after %d pages", _MAX_MEMBER_PAGES)

    def _ok(self, answer: UpstreamResponse, what: str) -> dict[str, object]:
        body = as_object(answer.body)
        if answer.status != 200 or body is None:
            raise unexpected(SERVICE, what, answer.status)
        return body
