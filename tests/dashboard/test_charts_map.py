"""Chart geometry and the hex map layout."""

from __future__ import annotations

import json
from datetime import date, timedelta

from advocacy.dashboard import charts, hexmap
from advocacy.directory.snapshot import constituency_names


def test_nice_ceiling_rounds_up_to_one_two_or_five() -> None:
    assert [charts.nice_ceiling(v) for v in (0, 1, 3, 7, 12, 150, 999)] == [
        1,
        1,
        5,
        10,
        20,
        200,
        1000,
    ]


def test_bar_chart_scales_the_tallest_bar_to_the_plot() -> None:
    days = [date(2026, 12, 1) + timedelta(days=i) for i in range(4)]
    chart = charts.bar_chart("Signatures per day", days, [0, 5, 10, 2])
    plot = chart.plot_bottom - chart.plot_top
    assert [round(b.height / plot, 2) for b in chart.bars] == [0, 0.5, 1.0, 0.2]
    assert chart.bars[2].y == chart.plot_top
    assert [t.label for t in chart.y_ticks] == ["0", "2.5", "5", "7.5", "10"]
    assert chart.x_ticks[0].label == "01 Dec"


def test_line_chart_runs_from_the_first_to_the_last_day() -> None:
    days = [date(2026, 12, 1) + timedelta(days=i) for i in range(3)]
    chart = charts.line_chart("Cumulative", days, [1, 3, 4])
    xs = [p.x for p in chart.points]
    assert xs[0] == chart.plot_left
    assert xs[-1] == chart.plot_right
    assert chart.line.count(",") == 3


def test_hex_map_places_all_650_constituencies_under_directory_codes() -> None:
    names = constituency_names()
    layout = hexmap.layout(json.dumps(names))
    codes = {h.code for h in layout.hexes}
    assert len(layout.hexes) == 650
    assert codes == set(names)
    # The five renamed Scottish seats are matched by name.
    assert {"S14000107", "S14000111"} <= codes
    assert all(0 <= h.x <= layout.width and 0 <= h.y <= layout.height for h in layout.hexes)
    # No two hexes share a place.
    assert len({(h.x, h.y) for h in layout.hexes}) == 650


def test_shades_grow_with_the_count() -> None:
    legend, step = hexmap.shades(100)
    assert step == 20
    assert legend[0].label == "none"
    assert legend[-1].label == "81 to 100"
    assert hexmap.shade(0, step) == hexmap.SHADES[0]
    assert hexmap.shade(1, step) == hexmap.SHADES[1]
    assert hexmap.shade(100, step) == hexmap.SHADES[-1]
    assert hexmap.short_label("Leeds Central and Headingley") == "LCH"
