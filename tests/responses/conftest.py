"""Fixtures for the response tests: replies on, a fake SendGrid, the app on a real port."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.serving import make_server

from advocacy.config import Settings
from advocacy.models import Campaign, Letter
from tests.conftest import make_settings
from tests.delivery.conftest import campaign, fake_sendgrid
from tests.fakes.sendgrid import AcceptedMessage, FakeSendGrid
from tests.responses.helpers import send_letters
from tests.workspace.conftest import _cheap_password_hashes, staff_client

__all__ = ["_cheap_password_hashes", "campaign", "fake_sendgrid", "staff_client"]

INBOUND_SECRET = "inbound-secret-for-tests-0123456789"
REPLY_DOMAIN = "replies.campaign.example"
INBOUND_PATH = f"/webhooks/sendgrid/inbound/{INBOUND_SECRET}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_sendgrid: FakeSendGrid) -> Settings:
    """Settings with reply detection on, sending through the fake SendGrid."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "REPLY_DOMAIN": REPLY_DOMAIN,
            "INBOUND_PARSE_SECRET": INBOUND_SECRET,
            "WORKER_POLL_SECONDS": "0.05",
        },
    )


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The app served over HTTP on a free loopback port, for the fake to post to."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    # Request threads are joined on close, so none still holds a database connection when
    # the app's engine is disposed after the test.
    server.daemon_threads = False
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def sent(
    session: Session, settings: Settings, fake_sendgrid: FakeSendGrid, campaign: Campaign
) -> tuple[Letter, AcceptedMessage]:
    """One letter sent through the fake SendGrid, and the email the fake accepted."""
    ((letter, message),) = send_letters(session, settings, fake_sendgrid, campaign)
    return letter, message


@pytest.fixture
def post_reply(fake_sendgrid: FakeSendGrid, live_url: str) -> Callable[..., Any]:
    """Have the fake post an Inbound Parse request replying to a message; returns the response."""

    def post(message: AcceptedMessage, **options: Any) -> Any:
        return fake_sendgrid.post_inbound(live_url + INBOUND_PATH, message, **options)

    return post
