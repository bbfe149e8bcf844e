"""Response figures: how many MPs replied, how fast, by MP and by party, with Wilson intervals.

A letter counts once. It **replied** when a real reply from parliament.uk was detected or its
writer answered "yes"; it is **informed** when either source says anything about it (a
detected reply, or any questionnaire answer), and the reply rate is replied / informed:
letters nobody told us about are left out rather than counted as unanswered. Times to reply
come from detected replies only (the questionnaire gives no time): the first real reply
after the letter reached the MP. An MP is ranked only with at least RANK_MIN_LETTERS letters
and RANK_MIN_INFORMED answers or detections; below that the figures say "too few letters".
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from advocacy.dashboard import hexmap

# The dashboard's chart geometry, so both screens draw charts the same way.
from advocacy.dashboard.charts import Bar, Chart, Tick, _chart, _frame, _scale
from advocacy.directory.snapshot import constituency_names
from advocacy.models import (
    Campaign,
    Letter,
    LetterReply,
    LetterState,
    MemberOfParliament,
    ReplyAnswer,
    ReplyQuestionnaire,
)
from advocacy.models.base import UTCDateTime
from advocacy.responses.questionnaire import delivered_at

RANK_MIN_LETTERS = 10
RANK_MIN_INFORMED = 10
Z_95 = 1.959963984540054
TOO_FEW = "too few letters"
# Reply-time histogram bins, in days: [0, 1), [1, 3), ... [28, infinity).
TIME_BINS: tuple[tuple[float, float, str], ...] = (
    (0, 1, "under a day"),
    (1, 3, "1-3 days"),
    (3, 7, "3-7 days"),
    (7, 14, "1-2 weeks"),
    (14, 28, "2-4 weeks"),
    (28, math.inf, "over 4 weeks"),
)
# Letters that never reached the MP tell nothing about replies.
_UNDELIVERED = (LetterState.BOUNCED, LetterState.DROPPED)
_NO_PARTY = "No party recorded"


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) with no trials."""
    if trials <= 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    margin = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - margin), min(1.0, centre + margin)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` quantile by linear interpolation (as numpy's default), or None."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Group:
    """The figures of one MP, one party, or everything."""

    key: str
    name: str
    party: str = ""
    constituency: str = ""
    constituency_code: str = ""
    letters: int = 0
    detected: int = 0  # letters with a real reply from parliament.uk detected
    acknowledged: int = 0  # letters with only automatic replies detected
    other_address: int = 0  # letters with a non-automatic reply from another domain only
    answers: dict[str, int] = field(default_factory=lambda: {a.value: 0 for a in ReplyAnswer})
    replied: int = 0
    informed: int = 0
    days: list[float] = field(default_factory=list)

    @property
    def answered(self) -> int:
        """Questionnaire answers received."""
        return sum(self.answers.values())

    @property
    def rate(self) -> float | None:
        """Replied / informed, or None when nothing is known."""
        return self.replied / self.informed if self.informed else None

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the rate."""
        return wilson(self.replied, self.informed)

    @property
    def is_ranked(self) -> bool:
        """True with enough letters and answers or detections to compare."""
        return self.letters >= RANK_MIN_LETTERS and self.informed >= RANK_MIN_INFORMED

    @property
    def median_days(self) -> float | None:
        """Median days from delivery to the first detected reply."""
        return statistics.median(self.days) if self.days else None

    @property
    def p90_days(self) -> float | None:
        """90th percentile of days to the first detected reply."""
        return percentile(self.days, 0.9)

    def add(self, row: Any) -> None:
        """Count one letter's row (see _letter_rows)."""
        self.letters += 1
        real = row.first_reply_at is not None
        said_yes = row.answer == ReplyAnswer.YES
        if real:
            self.detected += 1
            if row.sent_at is not None:
                self.days.append(max(0.0, (row.first_reply_at - row.sent_at).total_seconds()))
        elif row.automatic:
            self.acknowledged += 1
        elif row.other:
            self.other_address += 1
        if row.answer in self.answers:
            self.answers[row.answer] += 1
        if real or said_yes:
            self.replied += 1
        if real or row.answer is not None:
            self.informed += 1

    def finish(self) -> Group:
        """Turn collected seconds into days."""
        self.days = [seconds / 86400 for seconds in self.days]
        return self


@dataclass(frozen=True)
class ResponseFigures:
    """Everything the response screens, the CSV and responses.json show."""

    overall: Group
    by_mp: list[Group]
    by_party: list[Group]
    computed_at: float

    def histogram(self) -> list[tuple[str, int]]:
        """How many first replies fell in each time bin."""
        return [
            (label, sum(1 for d in self.overall.days if low <= d < high))
            for low, high, label in TIME_BINS
        ]


def _letter_rows(session: Session, campaign_id: int | None) -> Iterable[Any]:
    """One row per delivered MP letter: its MP, party, times, detections and answer."""
    real = and_(LetterReply.is_automatic.is_(False), LetterReply.is_from_mp.is_(True))
    other = and_(LetterReply.is_automatic.is_(False), LetterReply.is_from_mp.is_(False))
    replies = (
        select(
            LetterReply.letter_id,
            type_coerce(func.min(case((real, LetterReply.received_at))), UTCDateTime()).label(
                "first_reply_at"
            ),
            func.max(case((LetterReply.is_automatic.is_(True), 1), else_=0)).label("automatic"),
            func.max(case((other, 1), else_=0)).label("other"),
        )
        .group_by(LetterReply.letter_id)
        .subquery()
    )
    query = (
        select(
            Letter.recipient_member_id.label("member_id"),
            Letter.recipient_name,
            Letter.constituency_name,
            Letter.constituency_code,
            MemberOfParliament.party,
            type_coerce(delivered_at(), UTCDateTime()).label("sent_at"),
            replies.c.first_reply_at,
            replies.c.automatic,
            replies.c.other,
            ReplyQuestionnaire.answer,
        )
        .outerjoin(replies, replies.c.letter_id == Letter.id)
        .outerjoin(ReplyQuestionnaire, ReplyQuestionnaire.letter_id == Letter.id)
        .outerjoin(
            MemberOfParliament,
            and_(
                MemberOfParliament.constituency_code == Letter.constituency_code,
                MemberOfParliament.member_id == Letter.recipient_member_id,
            ),
        )
        .where(
            Letter.sent_at.is_not(None),
            Letter.recipient_member_id.is_not(None),
            Letter.state.not_in(_UNDELIVERED),
        )
    )
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    return session.execute(query)


def _sorted(groups: Iterable[Group]) -> list[Group]:
    """Ranked groups by rate (then the interval's lower end), then the rest by letters."""
    groups = list(groups)
    ranked = sorted(
        (g for g in groups if g.is_ranked),
        key=lambda g: (-(g.rate or 0.0), -g.interval[0], g.name),
    )
    rest = sorted((g for g in groups if not g.is_ranked), key=lambda g: (-g.letters, g.name))
    return ranked + rest


def compute(session: Session, campaign: Campaign | None = None) -> ResponseFigures:
    """The response figures of one campaign, or of every campaign."""
    overall = Group(key="all", name="All MPs")
    mps: dict[int, Group] = {}
    parties: dict[str, Group] = {}
    for row in _letter_rows(session, campaign.id if campaign else None):
        party = row.party or _NO_PARTY
        mp = mps.get(row.member_id)
        if mp is None:
            mp = mps[row.member_id] = Group(
                key=str(row.member_id),
                name=row.recipient_name,
                party=party,
                constituency=row.constituency_name or "",
                constituency_code=row.constituency_code or "",
            )
        group = parties.get(party)
        if group is None:
            group = parties[party] = Group(key=party, name=party, party=party)
        for target in (overall, mp, group):
            target.add(row)
    return ResponseFigures(
        overall=overall.finish(),
        by_mp=_sorted(g.finish() for g in mps.values()),
        by_party=_sorted(g.finish() for g in parties.values()),
        computed_at=time.time(),
    )


class _FiguresCache:
    """Per-process figures per campaign for a few seconds, as count.json's counts are."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int | None, tuple[float, ResponseFigures]] = {}

    def get(self, session: Session, campaign: Campaign, ttl: float) -> ResponseFigures:
        """Cached figures, recomputed when older than `ttl` seconds."""
        with self._lock:
            entry = self._entries.get(campaign.id)
        if entry is not None and time.monotonic() - entry[0] <= ttl:
            return entry[1]
        figures = compute(session, campaign)
        with self._lock:
            self._entries[campaign.id] = (time.monotonic(), figures)
        return figures


_cache = _FiguresCache()


def cached(session: Session, campaign: Campaign, ttl: float) -> ResponseFigures:
    """The campaign's figures, cached for `ttl` seconds in this process."""
    return _cache.get(session, campaign, ttl)


# The public counts of one MP name no one: letters below this are shown as "fewer than".
PUBLIC_MIN_LETTERS = 3


def public_json(campaign: Campaign, figures: ResponseFigures) -> dict[str, Any]:
    """responses.json: per-MP counts for the public, no personal data."""

    def mp(group: Group) -> dict[str, Any]:
        few = group.letters < PUBLIC_MIN_LETTERS
        return {
            "member_id": int(group.key),
            "name": group.name,
            "party": group.party,
            "constituency": group.constituency,
            "letters": None if few else group.letters,
            "replies": None if few else group.replied,
            "rate": round(group.rate, 3) if group.is_ranked and group.rate is not None else None,
            "median_days": _round(group.median_days) if not few else None,
            "note": TOO_FEW if not group.is_ranked else None,
        }

    overall = figures.overall
    return {
        "campaign": campaign.slug,
        "letters": overall.letters,
        "replies": overall.replied,
        "rate": _round(overall.rate, 3),
        "median_days": _round(overall.median_days),
        "mps": [mp(group) for group in figures.by_mp],
        "ranking": {
            "min_letters": RANK_MIN_LETTERS,
            "min_answers_or_detections": RANK_MIN_INFORMED,
        },
    }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


CSV_COLUMNS = (
    "group",
    "member_id",
    "name",
    "party",
    "constituency",
    "letters",
    "replied",
    "informed",
    "rate",
    "rate_ci95_low",
    "rate_ci95_high",
    "replies_detected",
    "acknowledgements_only",
    "replies_from_other_addresses",
    "answered",
    *(f"answered_{a.value}" for a in ReplyAnswer),
    "median_days_to_reply",
    "p90_days_to_reply",
    "ranked",
)


def csv_rows(figures: ResponseFigures) -> Iterable[list[Any]]:
    """The figures as CSV rows (header first): everything, each party, each MP."""
    yield list(CSV_COLUMNS)
    levels = [("all", [figures.overall]), ("party", figures.by_party), ("mp", figures.by_mp)]
    for level, groups in levels:
        for g in groups:
            low, high = g.interval if g.informed else (None, None)
            yield [
                level,
                g.key if level == "mp" else "",
                g.name,
                g.party if level != "all" else "",
                g.constituency,
                g.letters,
                g.replied,
                g.informed,
                _round(g.rate, 4),
                _round(low, 4),
                _round(high, 4),
                g.detected,
                g.acknowledged,
                g.other_address,
                g.answered,
                *(g.answers[a.value] for a in ReplyAnswer),
                _round(g.median_days, 2),
                _round(g.p90_days, 2),
                "yes" if g.is_ranked else TOO_FEW,
            ]


def histogram_chart(figures: ResponseFigures) -> Chart:
    """The reply-time distribution as a bar chart (drawn by the template as SVG)."""
    counts = figures.histogram()
    left, right, top, bottom = _frame()
    scale = _scale(max((count for _, count in counts), default=0))
    ceiling = scale[1]
    slot = (right - left) / len(counts)
    bars = [
        Bar(
            x=left + i * slot + slot * 0.15,
            y=bottom - (bottom - top) * count / ceiling,
            width=slot * 0.7,
            height=(bottom - top) * count / ceiling,
            label=label,
            value=count,
        )
        for i, (label, count) in enumerate(counts)
    ]
    x_ticks = [Tick(left + (i + 0.5) * slot, label) for i, (label, _) in enumerate(counts)]
    return _chart("Days from delivery to the MP's first reply", scale, x_ticks, bars=bars)


# Reply-rate bands of the hex map, lowest first; grey where there are too few letters.
RATE_SHADES = ("#fee5d9", "#fcae91", "#c6dbef", "#6baed6", "#2171b5")
DARK_RATE_SHADES = frozenset(RATE_SHADES[-2:])
NO_DATA = "#f1f1f1"
FEW_DATA = "#d9d9d9"


@dataclass(frozen=True)
class RateMap:
    """What the dashboard's hex-map macro draws: the SVG and its legend."""

    svg: Markup
    legend: list[hexmap.Shade]


@lru_cache(maxsize=1)
def _layout() -> hexmap.Layout:
    return hexmap.layout(json.dumps(constituency_names(), sort_keys=True))


def rate_map(figures: ResponseFigures) -> RateMap:
    """The dashboard's hex cartogram, each constituency shaded by its MP's reply rate.

    Each hex with letters links to its MP's row in the table below the map. Drawn here,
    as the dashboard draws its map, because 650 hexes through a template cost too much.
    """
    by_code = {g.constituency_code: g for g in figures.by_mp if g.constituency_code}
    layout = _layout()
    parts = [
        f'<svg class="hexmap" viewBox="0 0 {layout.width} {layout.height}" role="group" '
        'aria-labelledby="rate-map-title" xmlns="http://www.w3.org/2000/svg">'
        '<title id="rate-map-title">Each of the 650 constituencies shaded by its MP\'s reply '
        "rate; each hex with letters links to that MP's row in the table</title>"
    ]
    for cell in layout.hexes:
        group = by_code.get(cell.code)
        if group is None:
            colour, label = NO_DATA, f"{cell.name_html}: no letters"
        elif not group.is_ranked or group.rate is None:
            colour, label = FEW_DATA, f"{cell.name_html}: {escape(group.name)}, {TOO_FEW}"
        else:
            band = min(len(RATE_SHADES) - 1, int(group.rate * len(RATE_SHADES)))
            colour = RATE_SHADES[band]
            label = f"{cell.name_html}: {escape(group.name)}, {group.rate:.0%} replied"
        ink = "#fff" if colour in DARK_RATE_SHADES else "#222"
        hex_svg = (
            f'<polygon points="{cell.points}" fill="{colour}"><title>{label}</title></polygon>'
            f'<text x="{cell.x}" y="{cell.y + 1.6:.1f}" text-anchor="middle" fill="{ink}" '
            f'aria-hidden="true">{cell.short_html}</text>'
        )
        if group is not None:
            hex_svg = f'<a href="#mp-{escape(group.key)}" aria-label="{label}">{hex_svg}</a>'
        parts.append(hex_svg)
    parts.append("</svg>")
    step = 100 // len(RATE_SHADES)
    legend = [hexmap.Shade(NO_DATA, "no letters"), hexmap.Shade(FEW_DATA, TOO_FEW)]
    legend += [
        hexmap.Shade(colour, f"{i * step}% to {(i + 1) * step}% replied")
        for i, colour in enumerate(RATE_SHADES)
    ]
    # Every value above is escaped or numeric.
    return RateMap(Markup("".join(parts)), legend)  # noqa: S704
