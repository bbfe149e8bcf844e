"""ISO 3166 countries, from pycountry (a maintained copy of the ISO and Debian iso-codes data)."""

from __future__ import annotations

import functools

import pycountry

UNITED_KINGDOM = "GB"


@functools.cache
def choices() -> tuple[tuple[str, str], ...]:
    """(alpha-2 code, common name) for every ISO 3166-1 country, sorted by name."""
    rows = [(c.alpha_2, name(c.alpha_2)) for c in pycountry.countries]
    return tuple(sorted(rows, key=lambda row: row[1].casefold()))


@functools.cache
def name(code: str | None) -> str:
    """A country's everyday English name ('Iran' for 'Iran, Islamic Republic of'), or ''."""
    if not code:
        return ""
    country = pycountry.countries.get(alpha_2=code.upper())
    if country is None:
        return ""
    return str(getattr(country, "common_name", None) or country.name)


def is_country(code: str | None) -> bool:
    """True for an ISO 3166-1 alpha-2 code."""
    return bool(code) and name(code) != ""
