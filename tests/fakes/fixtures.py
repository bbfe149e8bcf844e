"""Paths to the copied contract files and reference data the fakes are built from."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
CONTRACTS_DIR = FIXTURES_DIR / "contracts"
MP_LOOKUP_CSV = FIXTURES_DIR / "mp_lookup.csv"
CONSTITUENCIES_JSON = FIXTURES_DIR / "constituencies.json"


def load_contract(service: str, name: str) -> Any:
    """A contract file, e.g. load_contract("postcodes-io", "lookup_BR8_7RE.json")."""
    return json.loads((CONTRACTS_DIR / service / name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def constituency_names() -> dict[str, str]:
    """GSS code -> postcodes.io's name for the 650 constituencies of 2024 (do not mutate)."""
    names: dict[str, str] = json.loads(CONSTITUENCIES_JSON.read_text(encoding="utf-8"))
    return names
