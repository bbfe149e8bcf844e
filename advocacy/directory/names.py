"""Constituency names compared the way two directories that spell them differently need."""

from __future__ import annotations

import re
import unicodedata


def constituency_key(name: str) -> str:
    """A constituency name reduced for matching: case, accents, "&"/"and" and "the" ignored."""
    # Parliament and postcodes.io spell three seats differently: "Bridlington and The Wolds" /
    # "...the Wolds", "South Holland and The Deepings" / "...the Deepings", and
    # "Montgomeryshire and Glyndwr" / "...Glyndŵr".
    text = unicodedata.normalize("NFKD", name)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = text.casefold().replace("&", " and ")
    return " ".join(word for word in re.findall(r"[^\W_]+", text) if word != "the")
