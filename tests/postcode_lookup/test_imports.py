"""postcode_lookup stays framework-free: importing it never pulls in Flask or the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import postcode_lookup

ROOT = Path(__file__).resolve().parents[2]
CHECK = (
    "import postcode_lookup, sys; "
    "assert not any(m.split('.')[0] in {'flask','advocacy'} for m in sys.modules), "
    "sorted(m for m in sys.modules if m.split('.')[0] in {'flask','advocacy'})"
)


def test_postcode_lookup_never_imports_flask_or_advocacy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr


def test_postcode_lookup_source_never_mentions_flask_or_advocacy_imports() -> None:
    package = Path(postcode_lookup.__file__).parent
    for source in package.glob("*.py"):
        for line in source.read_text(encoding="utf-8").splitlines():
            stripped = line.strip()
            if stripped.startswith(("import ", "from ")):
                assert "flask" not in stripped
                assert "advocacy" not in stripped


def test_postcode_lookup_is_typed_and_exports_its_api() -> None:
    package = Path(postcode_lookup.__file__).parent
    assert (package / "py.typed").exists()
    for name in postcode_lookup.__all__:
        assert getattr(postcode_lookup, name) is not None
