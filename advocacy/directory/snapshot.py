"""The shipped MP directory snapshot, loaded into an empty directory by `advocacy seed`."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.models import MemberOfParliament

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SNAPSHOT_CSV = DATA_DIR / "mp_lookup.csv"
CONSTITUENCIES_JSON = DATA_DIR / "constituencies.json"
# The date the shipped snapshot was generated upstream: rows are "confirmed" as of then.
SNAPSHOT_DATE = datetime(2026, 6, 27, tzinfo=UTC)
COMMONS_ADDRESS = "House of Commons\nLondon\nSW1A 0AA"
_MISSING = {"", "z", "Not applicable"}


@dataclass(frozen=True)
class SnapshotRow:
    """One seat of the shipped snapshot."""

    constituency_code: str
    constituency_name: str
    member_id: int | None
    name_display: str | None
    name_full_title: str | None
    party: str | None
    email: str | None


def _value(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return None if raw in _MISSING else raw


def read_snapshot(path: Path = SNAPSHOT_CSV) -> Iterator[SnapshotRow]:
    """Rows of the shipped snapshot CSV."""
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            member = _value(row.get("member_id"))
            yield SnapshotRow(
                constituency_code=row["pcon_code"].strip(),
                constituency_name=row["pcon_name"].strip(),
                member_id=int(member) if member else None,
                name_display=_value(row.get("display_as")),
                name_full_title=_value(row.get("full_title")),
                party=_value(row.get("party_text")),
                email=_value(row.get("member_email")),
            )


def constituency_names(path: Path = CONSTITUENCIES_JSON) -> dict[str, str]:
    """GSS code to constituency name, as postcodes.io spells them."""
    names: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    return names


def load_snapshot(session: Session, path: Path = SNAPSHOT_CSV) -> str:
    """Fill an empty directory from the snapshot; a filled one is left to `mps sync`."""
    existing = session.scalar(select(func.count()).select_from(MemberOfParliament)) or 0
    if existing:
        return f"{existing} seats already present, snapshot not needed"
    rows = list(read_snapshot(path))
    session.add_all(
        MemberOfParliament(
            constituency_code=row.constituency_code,
            constituency_name=row.constituency_name,
            member_id=row.member_id,
            name_display=row.name_display,
            name_full_title=row.name_full_title,
            party=row.party,
            email=row.email,
            postal_address=COMMONS_ADDRESS,
            source="snapshot",
            confirmed_at=SNAPSHOT_DATE,
        )
        for row in rows
    )
    return f"{len(rows)} seats loaded from the shipped snapshot"
