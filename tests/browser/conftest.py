"""Real headless Chromium (Debian's package) driven by Playwright, and a live app server."""

from __future__ import annotations

import re
import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from advocacy import create_app
from advocacy.campaigns.seed import seed_campaigns
from advocacy.config import Settings
from advocacy.delivery.mail import make_backend
from advocacy.delivery.worker import Worker
from advocacy.directory.snapshot import load_snapshot
from advocacy.extensions import db
from tests.conftest import clean_database
from tests.fakes.sendgrid import DEFAULT_API_KEY, FakeSendGrid

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium_path() -> str | None:
    """Debian's chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium, or a skip saying why there is none."""
    executable = chromium_path()
    if executable is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        instance.close()


def live_env(port: int, postcodes_url: str, sendgrid_url: str) -> dict[str, str]:
    """Settings for an app served on loopback `port`, with fake postcodes.io and SendGrid."""
    return {
        "BASE_URL": f"http://127.0.0.1:{port}",
        "POSTCODES_IO_URL": postcodes_url,
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": DEFAULT_API_KEY,
        "SENDGRID_API_HOST": sendgrid_url,
    }


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served by werkzeug on loopback, in a thread."""

    def __init__(self, app: Flask, port: int) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.url = f"http://127.0.0.1:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


@contextmanager
def seeded_app(settings: Settings, database_url: str) -> Iterator[Flask]:
    """The app in its context, on a clean database with the campaigns and MP directory."""
    app = create_app(settings)
    with app.app_context():
        clean_database(database_url)
        with db.transaction() as session:
            seed_campaigns(session)
            load_snapshot(session)
        yield app
    db.dispose()


@pytest.fixture
def artifacts_dir() -> Path:
    """Where screenshots go (kept out of git)."""
    path = Path(__file__).resolve().parents[2] / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


def drain(app: Flask) -> None:
    """Run the delivery worker (and its scheduled deliveries) until nothing is due."""
    settings = app.config["SETTINGS"]
    Worker(settings, make_backend(settings), poll_seconds=0).run(once=True)


def emailed_link(sendgrid: FakeSendGrid, base_url: str, to: str, path: str) -> str:
    """The newest link starting `base_url` + `path` in a message the fake accepted for `to`."""
    for message in reversed(sendgrid.accepted):
        if to in message.to:
            text = message.content("text/plain") or ""
            found = re.search(rf"{re.escape(base_url)}{re.escape(path)}\S+", text)
            if found:
                return found.group(0)
    raise AssertionError(f"no {path} link emailed to {to}")
