"""A client for postcodes.io: postcode -> Westminster constituency (GSS code and name)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote

import requests

from ._http import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    JsonTransport,
    as_list,
    as_object,
    get_float,
    get_int,
    get_object,
    get_str,
    unexpected,
)
from .errors import (
    InvalidPostcode,
    InvalidReason,
    OutsideParliament,
    PostcodeNotFound,
    PostcodeTerminated,
)
from .postcode import Postcode, ensure_westminster, parse_postcode
from .resilience import CircuitBreaker, RetryPolicy

__all__ = ["BULK_LIMIT", "PostcodeResult", "PostcodesIoClient", "is_westminster_code"]

logger = logging.getLogger(__name__)

SERVICE: Final = "postcodes.io"

# postcodes.io's BULKLOOKUPS_POSTCODES_MAX; more in one request is a 400.
BULK_LIMIT: Final = 100

# GSS codes of real Westminster constituencies. Anything else (E99999999, L99999999 for the
# Channel Islands, M99999999 for the Isle of Man, the pre-2024 N06 codes) is "no MP here".
_WESTMINSTER_CODE: Final = re.compile(r"(?:E14|W07|S14|N05)\d{6}")
_NO_MP_COUNTRIES: Final = frozenset({"Channel Islands", "Isle of Man"})

_INVALID_POSTCODE: Final = "Invalid postcode"
_POSTCODE_NOT_FOUND: Final = "Postcode not found"


def is_westminster_code(code: str) -> bool:
    """True for the GSS code of a real Westminster constituency (E14/W07/S14/N05)."""
    return _WESTMINSTER_CODE.fullmatch(code) is not None


@dataclass(frozen=True)
class PostcodeResult:
    """What the app needs from a postcodes.io result: the postcode and its constituency."""

    postcode: str
    outward_code: str
    inward_code: str
    country: str | None
    region: str | None
    admin_district: str | None
    constituency_code: str
    constituency_name: str
    longitude: float | None = None
    latitude: float | None = None


def _constituency(result: Mapping[str, object]) -> tuple[str, str] | None:
    codes = get_object(result, "codes") or {}
    # Since postcodes.io v17 both fields hold the 2024 constituency. Older answers held the
    # 2010 seat in the first, so fall back to the _2024 field when the first is not usable.
    for key in ("parliamentary_constituency", "parliamentary_constituency_2024"):
        code, name = get_str(codes, key), get_str(result, key)
        if code and name and is_westminster_code(code):
            return code, name
    return None


def _parse_result(result: Mapping[str, object]) -> PostcodeResult | None:
    """Build a PostcodeResult, or None when the postcode has no Westminster constituency."""
    postcode = get_str(result, "postcode")
    if postcode is None:
        raise unexpected(SERVICE, "result without a postcode")
    constituency = _constituency(result)
    if constituency is None:
        return None
    outward, _, inward = postcode.rpartition(" ")
    return PostcodeResult(
        postcode=postcode,
        outward_code=get_str(result, "outcode") or outward,
        inward_code=get_str(result, "incode") or inward,
        country=get_str(result, "country"),
        region=get_str(result, "region"),
        admin_district=get_str(result, "admin_district"),
        constituency_code=constituency[0],
        constituency_name=constituency[1],
        longitude=get_float(result, "longitude"),
        latitude=get_float(result, "latitude"),
    )


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class PostcodesIoClient:
    """Look postcodes up on postcodes.io, with timeouts, retries and a circuit breaker."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str = "https://api.postcodes.io",
        *,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
    ) -> None:
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

    def lookup(self, postcode: str | Postcode) -> PostcodeResult:
        """Find the Westminster constituency of a postcode, or raise a PostcodeLookupError."""
        parsed = postcode if isinstance(postcode, Postcode) else parse_postcode(postcode)
        # Crown dependencies, BFPO and overseas postcodes are answered without a request.
        ensure_westminster(parsed)
        answer = self._http.get(f"/postcodes/{quote(parsed.compact, safe='')}", label="lookup")
        body = as_object(answer.body) or {}
        if answer.status == 200:
            result = get_object(body, "result")
            if result is None:
                raise unexpected(SERVICE, "200 without a result object")
            found = _parse_result(result)
            if found is None:
                country = get_str(result, "country")
                region = (
                    country if country is not None and country in _NO_MP_COUNTRIES else "This area"
                )
                logger.info("a postcode with no Westminster constituency was looked up")
                raise OutsideParliament(region, postcode=parsed.normalised)
            return found
        if answer.status == 404:
            raise self._not_found(body, parsed)
        raise unexpected(SERVICE, "lookup refused", answer.status)

    def _not_found(self, body: Mapping[str, object], parsed: Postcode) -> Exception:
        error = get_str(body, "error")
        if error == _INVALID_POSTCODE:
            # Our format check is more forgiving than postcodes.io's (e.g. GIR 0AA).
            return InvalidPostcode(InvalidReason.NOT_RECOGNISED)
        terminated = get_object(body, "terminated")
        if terminated is not None:
            year = get_int(terminated, "year_terminated")
            month = get_int(terminated, "month_terminated")
            if year is not None:
                logger.info("a terminated postcode was looked up")
                return PostcodeTerminated(
                    get_str(terminated, "postcode") or parsed.normalised,
                    year_terminated=year,
                    month_terminated=month or 0,
                )
        if error != _POSTCODE_NOT_FOUND:
            # Any other 404 ("Resource not found", a proxy's page) means a wrong base URL or a
            # changed API, not an answer about the postcode.
            return unexpected(SERVICE, error or "no error message", 404)
        return PostcodeNotFound(parsed.normalised)

    def bulk_lookup(self, postcodes: Iterable[str]) -> dict[str, PostcodeResult | None]:
        """Look up many postcodes, 100 per request; keys are the queries as given."""
        # A value is None when the query is not a postcode, is unknown or terminated, or has no
        # Westminster constituency (Crown dependencies, BFPO, overseas). An upstream failure
        # raises LookupUnavailable for the whole call rather than returning partial results.
        queries: dict[str, str | None] = {}  # query as given -> compact postcode to send
        for query in postcodes:
            if query in queries:
                continue
            try:
                parsed = parse_postcode(query)
            except InvalidPostcode:
                queries[query] = None
                continue
            queries[query] = parsed.compact if parsed.has_westminster_constituency else None

        # Different spellings of one postcode are sent once.
        to_send = list(dict.fromkeys(c for c in queries.values() if c is not None))
        found: dict[str, PostcodeResult | None] = {}
        for chunk in _chunks(to_send, BULK_LIMIT):
            found.update(self._bulk_chunk(chunk))
        return {query: found.get(c) if c else None for query, c in queries.items()}

    def _bulk_chunk(self, chunk: list[str]) -> dict[str, PostcodeResult | None]:
        answer = self._http.post(
            "/postcodes", {"postcodes": chunk}, label=f"bulk lookup of {len(chunk)}"
        )
        body = as_object(answer.body) or {}
        if answer.status != 200:
            raise unexpected(
                SERVICE, get_str(body, "error") or "bulk lookup refused", answer.status
            )
        found: dict[str, PostcodeResult | None] = {}
        for item in as_list(body.get("result")):
            entry = as_object(item)
            query = get_str(entry, "query") if entry is not None else None
            if entry is None or query is None:
                raise unexpected(SERVICE, "bulk entry without a query")
            result = get_object(entry, "result")
            if result is None:
                found[query] = None
                continue
            found[query] = _parse_result(result)
        return found
