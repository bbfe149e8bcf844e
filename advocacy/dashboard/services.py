"""Campaign figures for the dashboard, read from the counters (never from the letters).

Every function here reads a bounded number of rows: one counter row per campaign, per
constituency (650), per MP, per partner, per source and per day, whatever the number of
letters. A partner's figures are filtered here, never in a template.
"""

from __future__ import annotations

import csv
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache
from typing import Any, cast

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.directory.snapshot import SNAPSHOT_CSV
from advocacy.models import Campaign, CampaignCount, Dimension, MemberOfParliament, Partner

NATIONS = {"E": "England", "W": "Wales", "S": "Scotland", "N": "Northern Ireland"}
UNKNOWN = "Not known"


# Mutable with slots rather than frozen: a page builds over a thousand of these, and a
# frozen dataclass pays for every field it sets.
@dataclass(slots=True)
class Counts:
    """The figures of one counter row (or a sum of several)."""

    written: int = 0
    confirmed: int = 0
    sent: int = 0
    signatures: int = 0
    awaiting: int = 0
    queued: int = 0
    held: int = 0
    in_flight: int = 0  # accepted by SendGrid, no outcome yet (sent or deferred)
    delivered: int = 0
    bounced: int = 0  # bounced or dropped by the receiving side
    failed: int = 0
    expired: int = 0

    @classmethod
    def of(cls, row: Any) -> Counts:
        """The figures of a counter row (a model or a plain row)."""
        return cls(
            written=row.written,
            confirmed=row.confirmed,
            sent=row.sent,
            signatures=row.signatures,
            awaiting=row.state_awaiting,
            queued=row.state_queued,
            held=row.state_held,
            in_flight=row.state_sent + row.state_deferred,
            delivered=row.state_delivered,
            bounced=row.state_bounced + row.state_dropped,
            failed=row.state_failed,
            expired=row.state_expired,
        )

    def __add__(self, other: Counts) -> Counts:
        """The sum of two sets of figures."""
        return Counts(
            **{name: getattr(self, name) + getattr(other, name) for name in _COUNT_FIELDS}
        )


_COUNT_FIELDS = tuple(Counts.__dataclass_fields__)


def _total(counts: Iterable[Counts]) -> Counts:
    total = Counts()
    for item in counts:
        total = total + item
    return total


@dataclass(frozen=True)
class FunnelStep:
    """One step of the delivery funnel and what was lost on the way to it."""

    label: str
    count: int
    drop: int
    drop_percent: float
    percent_of_written: float


@dataclass(frozen=True)
class Figures:
    """A campaign's headline figures and its goal."""

    counts: Counts
    goal: int | None = None

    @property
    def goal_percent(self) -> float | None:
        """Signatures as a share of the goal (capped at 100), or None without a goal."""
        if not self.goal:
            return None
        return min(100.0, 100.0 * self.counts.signatures / self.goal)

    @property
    def funnel(self) -> list[FunnelStep]:
        """Written, confirmed, sent, delivered, with the drop at each step."""
        c = self.counts
        steps = [
            ("Written", c.written),
            ("Confirmed", c.confirmed),
            ("Sent", c.sent),
            ("Delivered", c.delivered),
        ]
        result = []
        previous = None
        for label, count in steps:
            drop = 0 if previous is None else max(0, previous - count)
            result.append(
                FunnelStep(
                    label=label,
                    count=count,
                    drop=drop,
                    drop_percent=_percent(drop, previous or 0),
                    percent_of_written=_percent(count, c.written),
                )
            )
            previous = count
        return result


def _percent(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _rows(
    session: Session, dimension: Dimension, campaign_ids: Sequence[int] | None = None
) -> list[Any]:
    """Counter rows as plain rows (no ORM identity map: a page reads hundreds of them)."""
    query = select(*CampaignCount.__table__.columns).where(CampaignCount.dimension == dimension)
    if campaign_ids is not None:
        query = query.where(CampaignCount.campaign_id.in_(campaign_ids))
    return list(session.execute(query))


def _partner_row(session: Session, campaign_id: int, partner_id: int) -> Counts:
    row = session.get(CampaignCount, (campaign_id, Dimension.PARTNER, str(partner_id)))
    return Counts.of(row) if row is not None else Counts()


def campaign_figures(
    session: Session, campaign: Campaign, *, partner_id: int | None = None
) -> Figures:
    """A campaign's headline figures; only one partner's letters when `partner_id` is given."""
    if partner_id is not None:
        # Signatures are counted per campaign only: a partner's are its confirmed letters.
        counts = _partner_row(session, campaign.id, partner_id)
        counts.signatures = counts.confirmed
        return Figures(counts=counts)
    row = session.get(CampaignCount, (campaign.id, Dimension.CAMPAIGN, ""))
    return Figures(counts=Counts.of(row) if row is not None else Counts(), goal=campaign.goal)


@dataclass(frozen=True)
class CampaignSummary:
    """One line of the all-campaigns overview."""

    campaign: Campaign
    figures: Figures


def overview(session: Session, campaigns: Sequence[Campaign]) -> list[CampaignSummary]:
    """Every campaign's headline figures, in one query."""
    rows = {row.campaign_id: row for row in _rows(session, Dimension.CAMPAIGN)}
    return [
        CampaignSummary(
            campaign=campaign,
            figures=Figures(
                counts=Counts.of(rows[campaign.id]) if campaign.id in rows else Counts(),
                goal=campaign.goal,
            ),
        )
        for campaign in campaigns
    ]


@dataclass(frozen=True)
class DayPoint:
    """Signatures on one day and in all up to its end."""

    day: date
    count: int
    cumulative: int


def daily_signatures(
    session: Session, campaign: Campaign, start: date, end: date
) -> list[DayPoint]:
    """Signatures per day from `start` to `end` (inclusive), with the running total."""
    rows = session.execute(
        select(CampaignCount.item, CampaignCount.signatures).where(
            CampaignCount.campaign_id == campaign.id,
            CampaignCount.dimension == Dimension.DAY,
            CampaignCount.item <= end.isoformat(),
        )
    ).all()
    per_day: dict[str, int] = {str(item): int(count) for item, count in rows}
    running = sum(count for item, count in per_day.items() if item < start.isoformat())
    points = []
    day = start
    while day <= end:
        count = per_day.get(day.isoformat(), 0)
        running += count
        points.append(DayPoint(day=day, count=count, cumulative=running))
        day += timedelta(days=1)
    return points


@dataclass(frozen=True)
class Seat:
    """What the directory and the shipped data say about one constituency."""

    code: str
    name: str
    region: str
    nation: str
    mp_name: str | None = None
    party: str | None = None
    member_id: int | None = None


@lru_cache(maxsize=1)
def _regions() -> dict[str, tuple[str, str]]:
    """GSS code to (region, nation), from the shipped snapshot (it never changes at run time)."""
    result = {}
    with SNAPSHOT_CSV.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            result[row["pcon_code"].strip()] = (
                row["region_name"].strip(),
                row["country_name"].strip(),
            )
    return result


def cached_seats(session: Session, ttl: float) -> dict[str, Seat]:
    """`seats`, kept by this process for `ttl` seconds (the directory changes by sync only)."""
    if ttl <= 0 or not has_app_context():
        return seats(session)
    cached = current_app.extensions.get("dashboard_seats")
    if cached is not None and time.monotonic() - cached[0] <= ttl:
        return cast(dict[str, Seat], cached[1])
    loaded = seats(session)
    current_app.extensions["dashboard_seats"] = (time.monotonic(), loaded)
    return loaded


def seats(session: Session) -> dict[str, Seat]:
    """Every constituency with its current MP: 650 plain rows, read once per page."""
    regions = _regions()
    mp = MemberOfParliament
    rows = session.execute(
        select(mp.constituency_code, mp.constituency_name, mp.name_display, mp.party, mp.member_id)
    )
    result = {}
    for code, name, mp_name, party, member_id in rows:
        region, nation = regions.get(code, ("", ""))
        nation = nation or NATIONS.get(code[:1], UNKNOWN)
        result[code] = Seat(
            code=code,
            name=name,
            region=region or nation,
            nation=nation,
            mp_name=mp_name,
            party=party,
            member_id=member_id,
        )
    return result


BREAKDOWNS = {
    "constituency": "Constituency",
    "mp": "MP",
    "party": "Party",
    "nation": "Nation",
    "region": "Region",
    "partner": "Partner",
    "source": "Source",
}
SORT_KEYS = ("label", "written", "confirmed", "sent", "delivered", "bounced")


@dataclass(frozen=True)
class BreakdownRow:
    """One line of a breakdown table."""

    key: str
    label: str
    counts: Counts
    detail: str = ""  # e.g. the MP and party beside a constituency
    constituency: str | None = None  # links to that constituency's figures


@dataclass
class Breakdown:
    """A sortable breakdown of a campaign's letters."""

    by: str
    rows: list[BreakdownRow] = field(default_factory=list)

    def sorted(self, key: str, descending: bool) -> list[BreakdownRow]:
        """The rows ordered by a column (`label` or a count), ties by label."""
        if key == "label":
            return sorted(self.rows, key=lambda r: r.label.casefold(), reverse=descending)
        ordered = sorted(self.rows, key=lambda r: r.label.casefold())
        return sorted(ordered, key=lambda r: getattr(r.counts, key), reverse=descending)


def breakdown(
    session: Session,
    campaign: Campaign,
    by: str,
    *,
    seat_index: dict[str, Seat] | None = None,
    constituency_rows: list[Any] | None = None,
) -> Breakdown:
    """The campaign's letters broken down by one of BREAKDOWNS."""
    if by not in BREAKDOWNS:
        raise ValueError(f"unknown breakdown {by!r}")
    index = seat_index if seat_index is not None else seats(session)
    if by in {"constituency", "nation", "region"}:
        rows = constituency_rows
        if rows is None:
            rows = _rows(session, Dimension.CONSTITUENCY, [campaign.id])
        if by == "constituency":
            return Breakdown(by, [_constituency_row(row, index) for row in rows])
        groups: dict[str, list[Counts]] = defaultdict(list)
        for row in rows:
            seat = index.get(row.item)
            if seat is not None:
                name = seat.nation if by == "nation" else seat.region
            else:
                name = NATIONS.get(row.item[:1], UNKNOWN) if by == "nation" else UNKNOWN
            groups[name].append(Counts.of(row))
        return Breakdown(by, [BreakdownRow(k, k, _total(v)) for k, v in groups.items()])
    if by in {"mp", "party"}:
        members = {s.member_id: s for s in index.values() if s.member_id is not None}
        rows = _rows(session, Dimension.MEMBER, [campaign.id])
        if by == "mp":
            return Breakdown(by, [_member_row(row, members) for row in rows])
        parties: dict[str, list[Counts]] = defaultdict(list)
        for row in rows:
            seat = members.get(int(row.item)) if row.item.isdigit() else None
            parties[(seat.party if seat else None) or UNKNOWN].append(Counts.of(row))
        return Breakdown(by, [BreakdownRow(k, k, _total(v)) for k, v in parties.items()])
    if by == "partner":
        names = {int(i): str(n) for i, n in session.execute(select(Partner.id, Partner.name))}
        rows = _rows(session, Dimension.PARTNER, [campaign.id])
        return Breakdown(
            by,
            [
                BreakdownRow(
                    row.item,
                    names.get(int(row.item), f"Partner {row.item}")
                    if row.item
                    else "Direct (no partner)",
                    Counts.of(row),
                )
                for row in rows
            ],
        )
    rows = _rows(session, Dimension.SOURCE, [campaign.id])
    return Breakdown(
        by, [BreakdownRow(row.item, row.item or "(none)", Counts.of(row)) for row in rows]
    )


def _constituency_row(row: Any, index: dict[str, Seat]) -> BreakdownRow:
    seat = index.get(row.item)
    if seat is None:
        label = row.item or "Not known"
        return BreakdownRow(row.item, label, Counts.of(row))
    detail = ", ".join(part for part in (seat.mp_name, seat.party) if part)
    return BreakdownRow(row.item, seat.name, Counts.of(row), detail, constituency=seat.code)


def _member_row(row: Any, members: dict[int, Seat]) -> BreakdownRow:
    seat = members.get(int(row.item)) if row.item.isdigit() else None
    if seat is None:
        return BreakdownRow(
            row.item, "No MP (vacant seat)" if not row.item else row.item, Counts.of(row)
        )
    return BreakdownRow(
        row.item,
        seat.mp_name or row.item,
        Counts.of(row),
        f"{seat.party or UNKNOWN}, {seat.name}",
        constituency=seat.code,
    )


def constituency_rows(session: Session, campaign: Campaign) -> list[Any]:
    """The campaign's per-constituency counter rows (for `breakdown` and the map)."""
    return _rows(session, Dimension.CONSTITUENCY, [campaign.id])


def constituency_counts(
    session: Session, campaign: Campaign, rows: list[Any] | None = None
) -> dict[str, Counts]:
    """Each constituency's figures (for the map and a constituency's own page)."""
    if rows is None:
        rows = constituency_rows(session, campaign)
    return {row.item: Counts.of(row) for row in rows if row.item}


def first_signature_day(session: Session, campaign: Campaign) -> date | None:
    """The first day with a signature (one look at the day counters)."""
    item = session.scalar(
        select(func.min(CampaignCount.item)).where(
            CampaignCount.campaign_id == campaign.id, CampaignCount.dimension == Dimension.DAY
        )
    )
    return date.fromisoformat(item) if item else None
