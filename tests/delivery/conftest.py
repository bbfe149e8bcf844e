"""Fixtures for the delivery tests: a fake SendGrid, an app that uses it, a campaign."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import Campaign
from tests.conftest import make_settings
from tests.fakes.sendgrid import FakeSendGrid


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """A running fake SendGrid."""
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, fake_sendgrid: FakeSendGrid) -> Settings:
    """Test settings that send through the fake SendGrid."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
            "WORKER_POLL_SECONDS": "0.05",
            "WORKER_LEASE_SECONDS": "30",
        },
    )


@pytest.fixture
def campaign(app: Flask, session: Session) -> Campaign:
    """A live campaign."""
    row = Campaign(
        slug="save-libraries",
        title="Save our libraries",
        summary="Keep local libraries open.",
        sender_name="Save Our Libraries",
    )
    session.add(row)
    session.commit()
    return row
