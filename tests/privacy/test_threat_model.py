"""docs/THREAT_MODEL.md names the tests that prove each defence: they must all exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_threat_model_names_only_tests_that_exist() -> None:
    text = (ROOT / "docs" / "THREAT_MODEL.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)?::(test_\w+)`", text)
    assert len(named) > 20
    missing = []
    current = ""
    for path, name in named:
        current = path or current
        if f"def {name}(" not in (ROOT / current).read_text():
            missing.append(f"{current}::{name}")
    assert not missing, missing
