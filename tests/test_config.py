"""Settings read from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from advocacy.config import ConfigurationError, Settings


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", **env})


def test_base_url_in_development_follows_host_and_port(tmp_path: Path) -> None:
    assert _settings(tmp_path).base_url == "http://127.0.0.1:5000"
    assert _settings(tmp_path, PORT="18301").base_url == "http://127.0.0.1:18301"
    assert _settings(tmp_path, HOST="localhost", PORT="8080").base_url == "http://localhost:8080"
    # Bound to every interface, the app is still reached on loopback from this machine.
    assert _settings(tmp_path, HOST="0.0.0.0", PORT="8080").base_url == "http://127.0.0.1:8080"  # noqa: S104
    assert _settings(tmp_path, HOST="::1", PORT="8080").base_url == "http://[::1]:8080"


def test_an_explicit_base_url_wins_and_production_ignores_host_and_port(tmp_path: Path) -> None:
    explicit = _settings(tmp_path, BASE_URL="https://write.example/", PORT="8080")
    assert explicit.base_url == "https://write.example"
    production = _settings(tmp_path, ADVOCACY_ENV="production", PORT="8000")
    assert production.base_url == "http://127.0.0.1:5000"


def test_a_port_that_is_not_a_number_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="PORT must be a whole number"):
        _settings(tmp_path, PORT="eighty")


def test_make_test_ends_by_saying_browser_tests_were_skipped_without_chromium(
    tmp_path: Path,
) -> None:
    root = Path(__file__).resolve().parents[1]
    venv_bin = Path(sys.executable).parent
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",
            "-p",
            "no:cacheprovider",
            "tests/test_config.py::test_a_port_that_is_not_a_number_is_a_clear_error",
        ],
        cwd=root,
        env={**os.environ, "PATH": str(venv_bin)},  # no chromium on this PATH
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # Just above the final count, where a person finishing a run looks.
    notice, final = result.stdout.strip().splitlines()[-2:]
    assert "browser tests were skipped: Chromium is not installed" in notice
    assert "passed" in final
