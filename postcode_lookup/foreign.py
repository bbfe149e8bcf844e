"""Recognise, offline, text that is plainly another country's postcode rather than a typo.

A person abroad who types their own postcode ("75008", "10115", "K1A 0B1") should be told
how people outside the UK can take part, not that they mistyped a UK postcode. Only shapes
that no UK postcode can have count, so a mistyped UK postcode is never sent down that path.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = ["looks_foreign"]

_FOREIGN_SHAPES: Final[tuple[re.Pattern[str], ...]] = tuple(
    re.compile(pattern)
    for pattern in (
        # Digits only, 3 to 10 of them: most of the world (France 75008, Germany 10115, the
        # United States 20500 and 20500-0003, Australia 2000, China 100000, Brazil 01310-100,
        # Japan 100-0001, Poland 00-950). Every UK postcode has letters.
        r"\d{3,10}",
        # Canada: letter, digit, letter, digit, letter, digit (K1A 0B1).
        r"[A-Z]\d[A-Z]\d[A-Z]\d",
        # The Netherlands: four digits and two letters (1012 AB).
        r"\d{4}[A-Z]{2}",
        # Ireland's Eircodes: a routing key and four characters (D02 X285, A65 F4E2). No UK
        # postcode of seven characters starts with a letter and two digits.
        r"[A-Z]\d[\dW][\dA-Z]{4}",
    )
)


def looks_foreign(raw: str) -> bool:
    """True when `raw` has the shape of another country's postcode, never of a UK one."""
    if len(raw) > 64:
        return False
    text = unicodedata.normalize("NFKC", raw)
    compact = "".join(c for c in text if not (c.isspace() or unicodedata.category(c) == "Pd"))
    if not (compact.isascii() and compact.isalnum()):
        return False
    compact = compact.upper()
    return any(shape.fullmatch(compact) for shape in _FOREIGN_SHAPES)
