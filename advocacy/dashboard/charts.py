"""Chart geometry for server-drawn SVG: the templates only place what is computed here.

Drawn on the server so the charts need no script and no third party; each chart is
accompanied by a table of the same numbers for screen readers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 720, 240
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 48, 12, 12, 36


@dataclass(frozen=True)
class Tick:
    """An axis tick: where it is and what it says."""

    position: float
    label: str


@dataclass(frozen=True)
class Bar:
    """One bar of a bar chart."""

    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    """Everything a template needs to draw one chart."""

    title: str
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bars: list[Bar]
    line: str  # SVG polyline points, empty for a bar chart
    points: list[Bar]  # the line's points (x, y, value) for markers and titles


def nice_ceiling(value: int) -> int:
    """The smallest 1, 2 or 5 times a power of ten at or above `value` (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _y_ticks(top: int, plot_top: float, plot_bottom: float) -> list[Tick]:
    ticks = []
    for i in range(5):
        value = top * i / 4
        y = plot_bottom - (plot_bottom - plot_top) * i / 4
        label = f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"
        ticks.append(Tick(position=y, label=label))
    return ticks


def _x_ticks(days: Sequence[date], xs: Sequence[float]) -> list[Tick]:
    if not days:
        return []
    every = max(1, math.ceil(len(days) / 8))
    return [
        Tick(position=x, label=day.strftime("%d %b"))
        for i, (day, x) in enumerate(zip(days, xs, strict=True))
        if i % every == 0
    ]


def _frame() -> tuple[float, float, float, float]:
    return MARGIN_LEFT, WIDTH - MARGIN_RIGHT, MARGIN_TOP, HEIGHT - MARGIN_BOTTOM


def _chart(
    title: str,
    ceiling: int,
    x_ticks: list[Tick],
    *,
    bars: list[Bar] | None = None,
    line: str = "",
    points: list[Bar] | None = None,
) -> Chart:
    left, right, top, bottom = _frame()
    return Chart(
        title=title,
        width=WIDTH,
        height=HEIGHT,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        y_ticks=_y_ticks(ceiling, top, bottom),
        x_ticks=x_ticks,
        bars=bars or [],
        line=line,
        points=points or [],
    )


def bar_chart(title: str, days: Sequence[date], values: Sequence[int]) -> Chart:
    """A bar per day."""
    left, right, top, bottom = _frame()
    ceiling = nice_ceiling(max(values, default=0))
    slot = (right - left) / max(1, len(values))
    bars = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        height = (bottom - top) * value / ceiling
        bars.append(
            Bar(
                x=left + i * slot + slot * 0.1,
                y=bottom - height,
                width=max(0.5, slot * 0.8),
                height=height,
                label=day.strftime("%d %b %Y"),
                value=value,
            )
        )
    centres = [left + (i + 0.5) * slot for i in range(len(values))]
    return _chart(title, ceiling, _x_ticks(days, centres), bars=bars)


def line_chart(title: str, days: Sequence[date], values: Sequence[int]) -> Chart:
    """A line through one point per day."""
    left, right, top, bottom = _frame()
    ceiling = nice_ceiling(max(values, default=0))
    count = len(values)
    step = (right - left) / max(1, count - 1)
    points = []
    for i, (day, value) in enumerate(zip(days, values, strict=True)):
        x = left + i * step if count > 1 else (left + right) / 2
        y = bottom - (bottom - top) * value / ceiling
        points.append(Bar(x=x, y=y, width=0, height=0, label=day.strftime("%d %b %Y"), value=value))
    line = " ".join(f"{p.x:.1f},{p.y:.1f}" for p in points)
    return _chart(title, ceiling, _x_ticks(days, [p.x for p in points]), line=line, points=points)
