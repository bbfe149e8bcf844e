"""Shared fixtures: a migrated real database, the app, its client and CLI runner."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, inspect, make_url, text
from sqlalchemy.orm import Session

from advocacy import create_app
from advocacy.config import Settings
from advocacy.extensions import db
from advocacy.migrate import upgrade
from advocacy.models import Base
from tests.clock import FakeClock

TEST_SECRET = "test-secret-key-not-for-production"


def _is_loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str) and host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any test that tries to reach beyond loopback (real email, real APIs)."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in {socket.AF_INET, socket.AF_INET6} and not _is_loopback(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def _worker_database(url: str) -> str:
    """Under pytest-xdist, give each worker a database of its own beside the named one.

    Workers run at once, and each drops and migrates its schema at start-up, so they
    cannot share one database.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker:
        return url
    base = make_url(url)
    own = base.set(database=f"{base.database}_{worker}")
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": own.database}
        ).first()
        if exists is None:
            conn.execute(text(f'CREATE DATABASE "{own.database}"'))
    engine.dispose()
    return own.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated database: PostgreSQL via TEST_DATABASE_URL, else a SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = _worker_database(url)
        engine = create_engine(url)
        with engine.begin() as conn:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        engine.dispose()
    # The schema is built only by migrations, so every test exercises them.
    upgrade(url)
    return url


def make_settings(database_url: str, instance_path: Path, **overrides: Any) -> Settings:
    """Settings for a test app: outbox mail, loopback upstreams unless overridden."""
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "INSTANCE_PATH": str(instance_path),
        "BASE_URL": "http://localhost",
        "POSTCODES_IO_URL": "http://127.0.0.1:9",
        "MEMBERS_API_URL": "http://127.0.0.1:9",
        "MAIL_BACKEND": "outbox",
        "MAIL_FROM": "letters@campaign.example",
        "COUNT_CACHE_SECONDS": "0",
        "CAMPAIGN_CACHE_SECONDS": "0",
        "HEALTH_CACHE_SECONDS": "0",
        "LOOKUP_CONNECT_TIMEOUT": "0.5",
        "LOOKUP_READ_TIMEOUT": "1",
    }
    env.update({k: str(v) for k, v in overrides.pop("env", {}).items()})
    return Settings.from_env(env, **overrides)


def clean_database(url: str) -> None:
    """Delete every row, children first, keeping the migrated schema."""
    engine = db.engine
    assert engine is not None
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Test settings; tests may build their own with make_settings()."""
    return make_settings(database_url, tmp_path / "instance")


@pytest.fixture
def app(settings: Settings, database_url: str) -> Iterator[Flask]:
    """The app, on a clean, migrated database."""
    application = create_app(settings, TESTING=True)
    clean_database(database_url)
    with application.app_context():
        yield application
    db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A test client for the app."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for the app's commands."""
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Session:
    """The app context's database session."""
    return db.session


@pytest.fixture
def http() -> Iterator[requests.Session]:
    """A requests session, closed after the test so no socket is left open."""
    with requests.Session() as session:
        yield session


@pytest.fixture
def clock() -> FakeClock:
    """A hand-driven clock for circuit breakers and caches."""
    return FakeClock()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say at the very end when the browser tests could not run, rather than skip quietly."""
    from tests.browser.conftest import chromium_path

    if chromium_path() is None:
        terminalreporter.write_sep(
            "!",
            "browser tests were skipped: Chromium is not installed (run `make browsers`)",
            yellow=True,
        )
