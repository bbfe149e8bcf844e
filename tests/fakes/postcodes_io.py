"""A loopback fake of postcodes.io, reproducing the recorded contract exactly.

    with PostcodesIoFake() as fake:
        fake.add_postcode("SW1A 1AA", constituency_code="E14001172")
        fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
        client = PostcodesIoClient(session, fake.url)

Result bodies are built from the documentation example ``lookup_BR8_7RE.json``, with the
postcode, outward/inward codes, constituency names and codes (and the country) replaced; other
fields keep the example's Sevenoaks values. Every status code, envelope and error string comes
from the contract files in ``tests/fixtures/contracts/postcodes-io``. JSON is written compactly,
as Express's ``res.json`` does.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from typing import Any

from .fixtures import constituency_names, load_contract
from .server import FakeServer, RecordedRequest, Reply

__all__ = ["BULK_MAX", "ERRORS", "PostcodesIoFake"]

_SERVICE = "postcodes-io"

# The exact error strings, taken from the contract files (source: api/app/lib/errors.ts).
ERRORS: dict[str, str] = {
    key: load_contract(_SERVICE, f"error_{key}.json")["error"]
    for key in (
        "invalid_postcode",
        "postcode_not_found",
        "terminated_postcode_not_found",
        "postcode_query_required",
        "bulk_invalid_json_query",
        "bulk_json_array_required",
        "bulk_too_many_postcodes",
        "bulk_too_many_geolocations",
        "invalid_json",
        "resource_not_found",
        "server_500",
    )
}
BULK_MAX = 100

_TEMPLATE: dict[str, Any] = load_contract(_SERVICE, "lookup_BR8_7RE.json")["result"]

# postcodes.io checks the trimmed input with the `postcode` npm package's pattern; anything else
# is 404 "Invalid postcode" (404, not 400).
_POSTCODE_FORMAT = re.compile(r"^[a-z]{1,2}\d[a-z\d]?\s*\d[a-z]{2}$", re.IGNORECASE)

_COUNTRY_BY_CODE_PREFIX = {
    "E": "England",
    "W": "Wales",
    "S": "Scotland",
    "N": "Northern Ireland",
    "L": "Channel Islands",
    "M": "Isle of Man",
}

_RECORDED = (
    "recorded/lookup_SW1A_1AA.json",
    "recorded/lookup_BS1_1DA.json",
    "recorded/lookup_TR18_5EG.json",
    "recorded/lookup_E10_5LL.json",
    "lookup_BR8_7RE.json",
)


def _key(postcode: str) -> str:
    return "".join(postcode.split()).upper()


def _canonical(postcode: str) -> str:
    compact = _key(postcode)
    return f"{compact[:-3]} {compact[-3:]}"


def _truthy(value: object) -> bool:
    # postcodes.io tests `if (req.body.postcodes)` in JavaScript: [] and {} are truthy.
    return value not in (None, False, 0, "")


def _error(status: int, message: str) -> Reply:
    return Reply.json(status, {"status": status, "error": message})


class PostcodesIoFake(FakeServer):
    """postcodes.io on loopback, serving a table of postcodes tests fill in."""

    def __init__(self, *, host: str = "127.0.0.1", recorded: bool = False) -> None:
        super().__init__(host=host)
        self._data_lock = threading.RLock()
        self._results: dict[str, dict[str, Any]] = {}
        self._terminated: dict[str, dict[str, Any]] = {}
        if recorded:
            self.add_recorded_postcodes()

    # Data

    def add_postcode(
        self,
        postcode: str,
        *,
        constituency_code: str,
        constituency_name: str | None = None,
        country: str | None = None,
        codes: dict[str, Any] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Add a postcode in a constituency; returns the result object it will serve.

        ``constituency_name`` defaults to postcodes.io's name for a 2024 GSS code (from
        constituencies.json) and to null for pseudo-codes like "L99999999". ``country`` defaults
        from the code's first letter. Extra keyword arguments replace top-level result fields
        (e.g. ``region="London"``) and ``codes`` entries are merged into ``result["codes"]``.
        """
        canonical = _canonical(postcode)
        if constituency_name is None:
            constituency_name = constituency_names().get(constituency_code)
        result = copy.deepcopy(_TEMPLATE)
        outcode, incode = canonical.split(" ")
        result.update(
            postcode=canonical,
            outcode=outcode,
            incode=incode,
            country=country or _COUNTRY_BY_CODE_PREFIX.get(constituency_code[:1], "England"),
            parliamentary_constituency=constituency_name,
            parliamentary_constituency_2024=constituency_name,
        )
        result["codes"].update(
            parliamentary_constituency=constituency_code,
            parliamentary_constituency_2024=constituency_code,
        )
        unknown = set(fields) - set(result)
        if unknown:
            raise TypeError(f"not postcodes.io result fields: {sorted(unknown)}")
        result.update(fields)
        result["codes"].update(codes or {})
        return self.add_result(result)

    def add_result(self, result: dict[str, Any]) -> dict[str, Any]:
        """Serve a complete result object as is (e.g. a recorded one), keyed by its postcode."""
        with self._data_lock:
            self._results[_key(result["postcode"])] = copy.deepcopy(result)
        return copy.deepcopy(result)

    def add_recorded_postcodes(self) -> list[str]:
        """Serve the recorded bodies (SW1A 1AA, BS1 1DA, TR18 5EG, E10 5LL) and BR8 7RE."""
        added = []
        for name in _RECORDED:
            result = load_contract(_SERVICE, name)["result"]
            self.add_result(result)
            added.append(result["postcode"])
        return added

    def add_terminated(
        self,
        postcode: str,
        *,
        year_terminated: int,
        month_terminated: int,
        longitude: float | None = -2.242851,
        latitude: float | None = 57.101474,
    ) -> None:
        """Add a terminated postcode: lookups answer 404 with a `terminated` object."""
        canonical = _canonical(postcode)
        with self._data_lock:
            self._results.pop(_key(canonical), None)
            self._terminated[_key(canonical)] = {
                "postcode": canonical,
                "year_terminated": year_terminated,
                "month_terminated": month_terminated,
                "longitude": longitude,
                "latitude": latitude,
            }

    def remove_postcode(self, postcode: str) -> None:
        """Forget a postcode (live or terminated)."""
        with self._data_lock:
            self._results.pop(_key(postcode), None)
            self._terminated.pop(_key(postcode), None)

    def result_for(self, postcode: str) -> dict[str, Any] | None:
        """The result object served for a postcode, or None."""
        with self._data_lock:
            found = self._results.get(_key(postcode))
            return copy.deepcopy(found) if found is not None else None

    # The API

    def error_reply(self, status: int) -> Reply:
        """Forced errors: 500 is postcodes.io's DEFAULT_MESSAGE; others reuse its envelope."""
        if status >= 500:
            return _error(status, ERRORS["server_500"])
        return _error(status, "Forced error")

    def handle(self, request: RecordedRequest) -> Reply:
        """Route like the Express app: case-insensitive, trailing slash optional."""
        segments = [s for s in request.path.split("/") if s]
        route = [s.lower() for s in segments]
        method = request.method
        if route == ["postcodes"] and method == "GET":
            return self._search(request)
        if route == ["postcodes"] and method == "POST":
            return self._bulk(request)
        if len(route) == 2 and route[0] == "postcodes" and method == "GET":
            return self._lookup(segments[1])
        if (
            len(route) == 3
            and route[0] == "postcodes"
            and route[2] == "validate"
            and method == "GET"
        ):
            return self._validate(segments[1])
        if len(route) == 2 and route[0] == "terminated_postcodes" and method == "GET":
            return self._terminated_lookup(segments[1])
        return _error(404, ERRORS["resource_not_found"])

    def _lookup(self, raw: str) -> Reply:
        postcode = raw.strip()
        if not _POSTCODE_FORMAT.match(postcode):
            return _error(404, ERRORS["invalid_postcode"])
        with self._data_lock:
            result = self._results.get(_key(postcode))
            terminated = self._terminated.get(_key(postcode))
        if result is not None:
            return Reply.json(200, {"status": 200, "result": result})
        if terminated is not None:
            return Reply.json(
                404,
                {"status": 404, "error": ERRORS["postcode_not_found"], "terminated": terminated},
            )
        return _error(404, ERRORS["postcode_not_found"])

    def _validate(self, raw: str) -> Reply:
        postcode = raw.strip()
        with self._data_lock:
            known = bool(_POSTCODE_FORMAT.match(postcode)) and _key(postcode) in self._results
        return Reply.json(200, {"status": 200, "result": known})

    def _terminated_lookup(self, raw: str) -> Reply:
        postcode = raw.strip()
        if not _POSTCODE_FORMAT.match(postcode):
            return _error(404, ERRORS["invalid_postcode"])
        with self._data_lock:
            terminated = self._terminated.get(_key(postcode))
        if terminated is None:
            return _error(404, ERRORS["terminated_postcode_not_found"])
        return Reply.json(200, {"status": 200, "result": terminated})

    def _search(self, request: RecordedRequest) -> Reply:
        query = request.param("q") or request.param("query")
        if not query:
            return _error(400, ERRORS["postcode_query_required"])
        prefix = _key(query)
        with self._data_lock:
            matches = [r for k, r in sorted(self._results.items()) if k.startswith(prefix)]
        return Reply.json(200, {"status": 200, "result": matches[:10] or None})

    def _bulk(self, request: RecordedRequest) -> Reply:
        body: Any = {}
        if "json" in request.headers.get("content-type", ""):
            try:
                body = json.loads(request.body.decode("utf-8")) if request.body.strip() else {}
            except (UnicodeDecodeError, ValueError):
                return _error(400, ERRORS["invalid_json"])
            # body-parser's strict mode accepts only objects and arrays.
            if not isinstance(body, dict | list):
                return _error(400, ERRORS["invalid_json"])
        if not isinstance(body, dict):
            body = {}
        if _truthy(body.get("postcodes")):
            postcodes = body["postcodes"]
            if not isinstance(postcodes, list):
                return _error(400, ERRORS["bulk_json_array_required"])
            if len(postcodes) > BULK_MAX:
                return _error(400, ERRORS["bulk_too_many_postcodes"])
            wanted = request.param("filter")
            fields = [f for f in wanted.split(",") if f] if wanted else None
            results = [
                {"query": query, "result": self._bulk_result(query, fields)}
                for query in postcodes
                if isinstance(query, str)
            ]
            return Reply.json(200, {"status": 200, "result": results})
        if _truthy(body.get("geolocations")):
            locations = body["geolocations"]
            if not isinstance(locations, list):
                return _error(400, ERRORS["bulk_json_array_required"])
            if len(locations) > BULK_MAX:
                return _error(400, ERRORS["bulk_too_many_geolocations"])
            # Reverse geocoding is not faked: every location finds nothing.
            results = [{"query": location, "result": None} for location in locations]
            return Reply.json(200, {"status": 200, "result": results})
        return _error(400, ERRORS["bulk_invalid_json_query"])

    def _bulk_result(self, query: str, fields: list[str] | None) -> dict[str, Any] | None:
        postcode = query.strip()
        if not _POSTCODE_FORMAT.match(postcode):
            return None
        with self._data_lock:
            result = self._results.get(_key(postcode))
        if result is None:
            return None
        if fields is None:
            return result
        return {key: value for key, value in result.items() if key in fields}
