"""A loopback fake of the UK Parliament Members API, built from the recorded responses.

    with MembersApiFake() as fake:
        mp = fake.add_mp("Holborn and St Pancras", member_id=4514, name_display="Sir Keir Starmer",
                         email="keir.starmer.mp@parliament.uk")
        fake.add_constituency("Runcorn and Helsby")              # vacant: no member
        fake.load_mp_csv()                                       # all 650 MPs from mp_lookup.csv
        client = MembersApiClient(session, fake.url)

Item and search envelopes, member objects and contact entries copy the shapes of
``constituency_4483.json``, ``constituency_search_inverness.json``, ``members_search.json`` and
``member_4514_contact.json`` (key names and order, ``links`` without the ``/api`` prefix, paging
with ``take`` capped at 20). Constituency ids are synthetic (Parliament's ids are not in our data)
and so are party ids and colours other than the three parties seen in the recordings. No 400/404
body was ever recorded, so those answers have an empty body.
"""

from __future__ import annotations

import copy
import csv
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .fixtures import MP_LOOKUP_CSV, load_contract
from .server import FakeServer, RecordedRequest, Reply

__all__ = ["CONTACT_TYPES", "MembersApiFake", "MpRecord", "contact_entry"]

_SERVICE = "members-api"
_CONSTITUENCY_RECORDING: dict[str, Any] = load_contract(_SERVICE, "constituency_4483.json")
_MEMBER_TEMPLATE: dict[str, Any] = _CONSTITUENCY_RECORDING["value"]["currentRepresentation"][
    "member"
]["value"]
_REPRESENTATION_TEMPLATE: dict[str, Any] = _CONSTITUENCY_RECORDING["value"][
    "currentRepresentation"
]["representation"]

PAGE_CAP: Final = 20
ELECTION_2024: Final = "2024-07-04T00:00:00"
BOUNDARIES_2024: Final = "2024-05-31T00:00:00"

# Recorded typeIds and their `type` strings.
CONTACT_TYPES: Final = {
    1: "Parliamentary office",
    4: "Constituency office",
    6: "Website",
    7: "X (formerly Twitter)",
    1009: "Prime Minister's office",
}

# The three parties seen in the recordings, exactly; others get synthetic ids and no colours.
_KNOWN_PARTIES: Final = {
    "Labour": (15, "Lab", "d50000", "ffffff", True, True, 0),
    "Conservative": (4, "Con", "0063ba", "ffffff", True, False, 3),
    "Liberal Democrat": (17, "LD", "faa01a", "FFFFFF", True, False, None),
}

_CSV_MISSING = {"", "z", "Not applicable"}


@dataclass(frozen=True)
class MpRecord:
    """What add_mp created: ids to use in requests and assertions."""

    member_id: int
    constituency_id: int
    constituency_name: str
    email: str | None


def contact_entry(
    type_id: int,
    *,
    email: str | None = None,
    lines: tuple[str, ...] = (),
    postcode: str | None = None,
    phone: str | None = None,
    is_web_address: bool = False,
    type_name: str | None = None,
) -> dict[str, Any]:
    """One /Contact entry shaped like the recording: empty keys are absent, notes null."""
    entry: dict[str, Any] = {
        "type": type_name or CONTACT_TYPES.get(type_id, "Other"),
        "typeDescription": None,
        "typeId": type_id,
        "isPreferred": False,
        "isWebAddress": is_web_address,
        "notes": None,
    }
    for number, line in enumerate(lines[:5], start=1):
        entry[f"line{number}"] = line
    if postcode:
        entry["postcode"] = postcode
    if phone:
        entry["phone"] = phone
    if email:
        entry["email"] = email
    return entry


def _member_links(member_id: int) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"/Members/{member_id}", "method": "GET"},
        {"rel": "overview", "href": f"/Members/{member_id}", "method": "GET"},
        {"rel": "synopsis", "href": f"/Members/{member_id}/Synopsis", "method": "GET"},
        {"rel": "contactInformation", "href": f"/Members/{member_id}/Contact", "method": "GET"},
    ]


def _email_for(name_display: str) -> str:
    words = [w for w in name_display.lower().replace("-", " ").split() if w.isalpha()]
    return ".".join([*words[-2:], "mp"]) + "@parliament.uk"


class _Auto:
    """Marker for "make one up" defaults."""


AUTO: Final = _Auto()


class MembersApiFake(FakeServer):
    """The Members API on loopback, serving constituencies, members and contacts tests add."""

    def __init__(self, *, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)
        self._data_lock = threading.RLock()
        self._constituencies: dict[int, dict[str, Any]] = {}
        self._members: dict[int, dict[str, Any]] = {}
        self._contacts: dict[int, list[dict[str, Any]]] = {}
        self._codes: dict[str, int] = {}  # GSS code -> constituency id, for tests
        self._constituency_ids = itertools.count(90001)
        self._member_ids = itertools.count(95001)
        self._party_ids = itertools.count(9001)
        self._parties: dict[str, dict[str, Any]] = {}

    # Data

    def add_constituency(
        self,
        name: str,
        *,
        constituency_id: int | None = None,
        member_id: int | None = None,
        start_date: str = BOUNDARIES_2024,
        end_date: str | None = None,
        code: str | None = None,
    ) -> int:
        """Add a constituency, vacant unless member_id is given; returns its id."""
        with self._data_lock:
            cid = constituency_id if constituency_id is not None else next(self._constituency_ids)
            self._constituencies[cid] = {
                "id": cid,
                "name": name,
                "startDate": start_date,
                "endDate": end_date,
                "member_id": member_id,
            }
            if code:
                self._codes[code] = cid
        return cid

    def make_vacant(self, constituency_id: int) -> None:
        """Leave a constituency with no current representation (e.g. the MP resigned)."""
        with self._data_lock:
            self._constituencies[constituency_id]["member_id"] = None

    def add_member(
        self,
        member_id: int | None = None,
        *,
        name_display: str,
        name_full_title: str | None = None,
        name_list_as: str | None = None,
        party: str = "Labour",
        gender: str | None = None,
        constituency_name: str | None = None,
        constituency_id: int | None = None,
        house: int = 1,
        start_date: str = ELECTION_2024,
        end_date: str | None = None,
        status_active: bool | None = True,
        status_description: str | None = None,
        status_start_date: str | None = None,
    ) -> int:
        """Add a member (status_active=None gives a null membershipStatus); returns the id."""
        with self._data_lock:
            mid = member_id if member_id is not None else next(self._member_ids)
            value = copy.deepcopy(_MEMBER_TEMPLATE)
            value.update(
                id=mid,
                nameListAs=name_list_as or self._list_as(name_display),
                nameDisplayAs=name_display,
                nameFullTitle=name_full_title or f"{name_display} MP",
                nameAddressAs=None,
                latestParty=self._party(party),
                gender=gender,
                thumbnailUrl=f"https://members-api.parliament.uk/api/Members/{mid}/Thumbnail",
            )
            membership = value["latestHouseMembership"]
            membership.update(
                membershipFrom=constituency_name,
                membershipFromId=constituency_id,
                house=house,
                membershipStartDate=start_date,
                membershipEndDate=end_date,
            )
            if status_active is None:
                membership["membershipStatus"] = None
            else:
                membership["membershipStatus"].update(
                    statusIsActive=status_active,
                    statusDescription=status_description
                    or ("Current Member" if status_active else "Leave of Absence"),
                    statusId=0 if status_active else 2,
                    status=0 if status_active else 2,
                    statusStartDate=status_start_date or start_date,
                )
            self._members[mid] = value
            self._contacts.setdefault(mid, [])
        return mid

    def add_mp(
        self,
        constituency_name: str,
        *,
        member_id: int | None = None,
        name_display: str | None = None,
        name_full_title: str | None = None,
        party: str = "Labour",
        gender: str | None = None,
        email: str | _Auto | None = AUTO,
        constituency_id: int | None = None,
        code: str | None = None,
    ) -> MpRecord:
        """Add a constituency with a sitting MP and a Parliamentary office contact.

        ``email`` defaults to a made-up firstname.lastname.mp@parliament.uk; pass None for an
        MP who lists no email (the contact then has the House of Commons address only).
        """
        with self._data_lock:
            cid = constituency_id if constituency_id is not None else next(self._constituency_ids)
            mid = member_id if member_id is not None else next(self._member_ids)
            display = name_display or f"Test MP {mid}"
            address = email if not isinstance(email, _Auto) else _email_for(display)
            self.add_member(
                mid,
                name_display=display,
                name_full_title=name_full_title,
                party=party,
                gender=gender,
                constituency_name=constituency_name,
                constituency_id=cid,
            )
            self.add_constituency(constituency_name, constituency_id=cid, member_id=mid, code=code)
            self.set_contacts(
                mid,
                [
                    contact_entry(
                        1, lines=("House of Commons", "London"), postcode="SW1A 0AA", email=address
                    )
                ],
            )
        return MpRecord(mid, cid, constituency_name, address)

    def set_contacts(self, member_id: int, entries: list[dict[str, Any]]) -> None:
        """Replace a member's contact entries (build them with contact_entry or by hand)."""
        with self._data_lock:
            self._contacts[member_id] = copy.deepcopy(entries)

    def add_contact(self, member_id: int, type_id: int, **fields: Any) -> None:
        """Append one contact entry; fields as for contact_entry."""
        with self._data_lock:
            self._contacts.setdefault(member_id, []).append(contact_entry(type_id, **fields))

    def load_mp_csv(self, path: Path = MP_LOOKUP_CSV) -> list[MpRecord]:
        """Add every MP in a CSV shaped like mp_lookup.csv (the default is our copy)."""
        records = []
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.DictReader(handle):
                email = row["member_email"]
                records.append(
                    self.add_mp(
                        row["pcon_name"],
                        member_id=int(row["member_id"]),
                        name_display=row["display_as"],
                        name_full_title=row["full_title"],
                        party=row["party_text"],
                        email=None if email in _CSV_MISSING else email,
                        code=row["pcon_code"],
                    )
                )
        return records

    def constituency_id(self, name_or_code: str) -> int:
        """The (synthetic) id of a constituency, by GSS code or exact name."""
        with self._data_lock:
            if name_or_code in self._codes:
                return self._codes[name_or_code]
            for cid, row in self._constituencies.items():
                if row["name"] == name_or_code:
                    return cid
        raise KeyError(name_or_code)

    def _party(self, name: str) -> dict[str, Any]:
        if name not in self._parties:
            known = _KNOWN_PARTIES.get(name)
            if known is not None:
                pid, abbreviation, background, foreground, main, spiritual, government = known
            else:
                pid, abbreviation = next(self._party_ids), "".join(w[0] for w in name.split())
                background = foreground = government = None
                main, spiritual = False, False
            self._parties[name] = {
                "id": pid,
                "name": name,
                "abbreviation": abbreviation,
                "backgroundColour": background,
                "foregroundColour": foreground,
                "isLordsMainParty": main,
                "isLordsSpiritualParty": spiritual,
                "governmentType": government,
                "isIndependentParty": name == "Independent",
            }
        return copy.deepcopy(self._parties[name])

    @staticmethod
    def _list_as(name_display: str) -> str:
        *rest, last = name_display.split() or [""]
        return f"{last}, {' '.join(rest)}".strip(", ")

    # The API

    def handle(self, request: RecordedRequest) -> Reply:
        """Route like ASP.NET: case-insensitive paths under /api."""
        if request.method != "GET":
            return Reply(404)
        route = [s.lower() for s in request.path.split("/") if s]
        raw = [s for s in request.path.split("/") if s]
        if route[:1] != ["api"]:
            return Reply(404)
        route, raw = route[1:], raw[1:]
        if route == ["location", "constituency", "search"]:
            return self._constituency_search(request)
        if len(route) == 3 and route[:2] == ["location", "constituency"]:
            return self._by_id(raw[2], self._constituency_item)
        if route == ["members", "search"]:
            return self._members_search(request)
        if len(route) == 2 and route[0] == "members":
            return self._by_id(raw[1], self._member_item)
        if len(route) == 3 and route[0] == "members" and route[2] == "contact":
            return self._by_id(raw[1], self._contact_list)
        return Reply(404)

    def _by_id(self, raw_id: str, build: Callable[[int], dict[str, Any] | None]) -> Reply:
        try:
            item_id = int(raw_id)
        except ValueError:
            return Reply(400)
        with self._data_lock:
            payload = build(item_id)
        return Reply(404) if payload is None else Reply.json(200, payload)

    def _member_value(self, member_id: int) -> dict[str, Any]:
        return copy.deepcopy(self._members[member_id])

    def _member_item(self, member_id: int) -> dict[str, Any] | None:
        if member_id not in self._members:
            return None
        return {"value": self._member_value(member_id), "links": _member_links(member_id)}

    def _contact_list(self, member_id: int) -> dict[str, Any] | None:
        if member_id not in self._members:
            return None
        links = _member_links(member_id)
        return {
            "value": copy.deepcopy(self._contacts.get(member_id, [])),
            "links": [{**links[3], "rel": "self"}, links[1], links[2], links[3]],
        }

    def _constituency_value(self, row: dict[str, Any]) -> dict[str, Any]:
        representation = None
        member_id = row["member_id"]
        if member_id is not None and member_id in self._members:
            membership = copy.deepcopy(_REPRESENTATION_TEMPLATE)
            latest = self._members[member_id]["latestHouseMembership"]
            for key in membership:
                if key != "membershipStatus":
                    membership[key] = latest.get(key)
            representation = {
                "member": {
                    "value": self._member_value(member_id),
                    "links": _member_links(member_id),
                },
                "representation": membership,
            }
        return {
            "id": row["id"],
            "name": row["name"],
            "startDate": row["startDate"],
            "endDate": row["endDate"],
            "currentRepresentation": representation,
        }

    def _constituency_item(self, constituency_id: int) -> dict[str, Any] | None:
        row = self._constituencies.get(constituency_id)
        if row is None:
            return None
        return {
            "value": self._constituency_value(row),
            "links": [
                {
                    "rel": "self",
                    "href": f"/Constituency/{row['id']}/{row['name']}",
                    "method": "GET",
                }
            ],
        }

    @staticmethod
    def _paging(request: RecordedRequest) -> tuple[int, int] | None:
        try:
            skip = int(request.param("skip") or 0)
            take = int(request.param("take") or PAGE_CAP)
        except ValueError:
            return None
        if skip < 0 or take < 0:
            return None
        return skip, min(take, PAGE_CAP)

    @staticmethod
    def _envelope(
        items: list[dict[str, Any]], total: int, context: str, path: str, skip: int, take: int
    ) -> dict[str, Any]:
        # The recordings show all three paging links identical, pointing at the current page.
        href = f"{path}?skip={skip}&take={take}"
        return {
            "items": items,
            "totalResults": total,
            "resultContext": context,
            "skip": skip,
            "take": take,
            "links": [
                {"rel": "self", "href": href, "method": "GET"},
                {"rel": "page.next", "href": href, "method": "GET"},
                {"rel": "page.previous", "href": href, "method": "GET"},
            ],
        }

    def _constituency_search(self, request: RecordedRequest) -> Reply:
        paging = self._paging(request)
        if paging is None:
            return Reply(400)
        skip, take = paging
        text = request.param("searchText") or ""
        with self._data_lock:
            rows = sorted(
                (r for r in self._constituencies.values() if text.lower() in r["name"].lower()),
                key=lambda r: (r["name"], r["id"]),
            )
            page = [self._constituency_item(r["id"]) for r in rows[skip : skip + take]]
        context = f'Result(s) were found based on constituencies in the U.K. matching "{text}".'
        envelope = self._envelope(
            [p for p in page if p], len(rows), context, "/Constituency/Search", skip, take
        )
        return Reply.json(200, envelope)

    def _members_search(self, request: RecordedRequest) -> Reply:
        paging = self._paging(request)
        if paging is None:
            return Reply(400)
        skip, take = paging
        house = request.param("House")
        current = request.param("IsCurrentMember")
        houses = {"1": 1, "commons": 1, "2": 2, "lords": 2}
        if house is not None and house.lower() not in houses:
            return Reply(400)
        if current is not None and current.lower() not in {"true", "false"}:
            return Reply(400)
        name = (request.param("Name") or "").lower()
        location = (request.param("Location") or "").lower()
        constituency = request.param("ConstituencyId")

        def wanted(value: dict[str, Any]) -> bool:
            membership = value["latestHouseMembership"]
            checks = [
                house is None or membership["house"] == houses[house.lower()],
                current is None
                or (membership["membershipEndDate"] is None) == (current.lower() == "true"),
                name in (value["nameDisplayAs"] or "").lower(),
                location in (membership["membershipFrom"] or "").lower(),
                constituency is None or str(membership["membershipFromId"]) == constituency,
            ]
            return all(checks)

        with self._data_lock:
            matches = sorted(
                (v for v in self._members.values() if wanted(v)),
                key=lambda v: (v["nameListAs"] or "", v["id"]),
            )
            items = [
                {"value": self._member_value(v["id"]), "links": _member_links(v["id"])}
                for v in matches[skip : skip + take]
            ]
        return Reply.json(
            200, self._envelope(items, len(matches), "", "/Members/Search", skip, take)
        )
