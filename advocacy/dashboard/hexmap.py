"""The hex cartogram of the 650 constituencies, laid out for server-drawn SVG."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

HEXJSON = Path(__file__).resolve().parent / "data" / "uk-constituencies-2024.hexjson"
SIZE = 8.0  # centre to corner, in SVG units
# Light to dark: enough steps to tell places apart, few enough to name in a legend.
SHADES = ("#f1f1f1", "#d6e6f4", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
# Hexes that still carry a code the boundary had before its final name was settled.
RENAMED_CODES = {
    "S14000006": "S14000107",
    "S14000008": "S14000108",
    "S14000010": "S14000109",
    "S14000040": "S14000110",
    "S14000058": "S14000111",
}


@dataclass(frozen=True)
class Hex:
    """One constituency's hex: its code, name, centre and corners."""

    code: str
    name: str
    x: float
    y: float
    points: str
    name_html: str = ""  # the name, HTML-escaped once for every page that draws it
    short_html: str = ""


@dataclass(frozen=True)
class Layout:
    """Every hex, and the view box that holds them."""

    hexes: tuple[Hex, ...]
    width: float
    height: float


def _code(code: str, name: str, names: Mapping[str, str]) -> str:
    """The directory's code for a hex: renamed boundaries matched by name."""
    if code in names:
        return code
    by_name = {n.casefold(): c for c, n in names.items()}
    return by_name.get(name.casefold(), RENAMED_CODES.get(code, code))


@lru_cache(maxsize=1)
def layout(names_json: str = "") -> Layout:
    """Hex positions for pointy-topped `odd-r` HexJSON, north at the top."""
    data = json.loads(HEXJSON.read_text(encoding="utf-8"))
    names: dict[str, str] = json.loads(names_json) if names_json else {}
    width = math.sqrt(3) * SIZE
    raw = []
    for code, cell in data["hexes"].items():
        q, r = int(cell["q"]), int(cell["r"])
        # Odd rows are pushed half a hex to the right; r grows northwards.
        x = q * width + (width / 2 if r % 2 else 0)
        y = -r * SIZE * 1.5
        raw.append((code, str(cell["n"]), x, y))
    min_x = min(x for _, _, x, _ in raw) - width
    min_y = min(y for _, _, _, y in raw) - 2 * SIZE
    hexes = []
    for code, name, x, y in raw:
        cx, cy = x - min_x, y - min_y
        corners = (
            (
                cx + SIZE * math.cos(math.radians(60 * i - 30)),
                cy + SIZE * math.sin(math.radians(60 * i - 30)),
            )
            for i in range(6)
        )
        points = " ".join(f"{px:.1f},{py:.1f}" for px, py in corners)
        hexes.append(
            Hex(
                _code(code, name, names),
                name,
                round(cx, 1),
                round(cy, 1),
                points,
                str(escape(name)),
                str(escape(short_label(name))),
            )
        )
    hexes.sort(key=lambda h: h.name)
    max_x = max(h.x for h in hexes) + width
    max_y = max(h.y for h in hexes) + 2 * SIZE
    return Layout(tuple(hexes), round(max_x, 1), round(max_y, 1))


@dataclass(frozen=True)
class Shade:
    """A legend entry: a colour and the range of letters it stands for."""

    colour: str
    label: str


def shades(maximum: int) -> tuple[list[Shade], int]:
    """The legend for counts up to `maximum`, and the width of each band."""
    bands = len(SHADES) - 1
    step = max(1, math.ceil(maximum / bands))
    legend = [Shade(SHADES[0], "none")]
    for i in range(bands):
        low, high = i * step + 1, (i + 1) * step
        legend.append(Shade(SHADES[i + 1], f"{low:,}" if low == high else f"{low:,} to {high:,}"))
    return legend, step


def shade(count: int, step: int) -> str:
    """The colour of a hex with `count` letters."""
    if count <= 0:
        return SHADES[0]
    return SHADES[min(len(SHADES) - 1, 1 + (count - 1) // step)]


def short_label(name: str) -> str:
    """Three letters for the hex itself; the full name is its title."""
    letters = [w for w in name.replace("-", " ").split() if w[:1].isalpha() and w[0].isupper()]
    if len(letters) >= 2:
        return "".join(w[0] for w in letters[:3])
    return name[:3]


def render(layout: Layout, counts: Mapping[str, int], step: int, link_prefix: str) -> Markup:
    """The map as SVG: each hex a link named with its constituency and count.

    Built here rather than in a template: 650 hexes through a template macro cost more
    than the rest of the dashboard together.
    """
    prefix = escape(link_prefix)
    parts = [
        f'<svg class="hexmap" viewBox="0 0 {layout.width} {layout.height}" role="group" '
        'aria-labelledby="map-title" xmlns="http://www.w3.org/2000/svg">'
        '<title id="map-title">Letters written in each of the 650 constituencies; each hex '
        "links to that constituency's figures</title>"
    ]
    for cell in layout.hexes:
        n = counts.get(cell.code, 0)
        label = f"{cell.name_html}: {n:,} letter{'' if n == 1 else 's'}"
        parts.append(
            f'<a href="{prefix}{cell.code}" aria-label="{label}">'
            f'<polygon points="{cell.points}" fill="{shade(n, step)}"><title>{label}</title>'
            f'</polygon><text x="{cell.x}" y="{cell.y + 1.6:.1f}" text-anchor="middle" '
            f'aria-hidden="true">{cell.short_html}</text></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every value above is escaped or numeric
