"""Fixtures for the journey: a fake postcodes.io and a seeded app pointing at it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.campaigns.seed import seed_campaigns
from advocacy.config import Settings
from advocacy.directory.snapshot import load_snapshot
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake

CAMPAIGN = "stand-with-the-uyghurs"


@pytest.fixture(scope="session")
def postcodes_io() -> Iterator[PostcodesIoFake]:
    """One fake postcodes.io for the session, serving the recorded postcodes."""
    with PostcodesIoFake(recorded=True) as fake:
        fake.add_postcode("GU11 1AA", constituency_code="E14001063")  # Aldershot
        fake.add_postcode("PE12 6AA", constituency_code="E14001487")  # South Holland...
        fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
        yield fake


@pytest.fixture(autouse=True)
def _fresh_fake(postcodes_io: PostcodesIoFake) -> None:
    postcodes_io.clear_faults()
    postcodes_io.clear_requests()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Settings pointing the app at the fake postcodes.io."""
    return make_settings(
        database_url, tmp_path / "instance", env={"POSTCODES_IO_URL": postcodes_io.url}
    )


@pytest.fixture
def seeded(app: Flask, session: Session) -> Flask:
    """The app with the built-in campaigns and the shipped MP directory."""
    seed_campaigns(session)
    load_snapshot(session)
    session.commit()
    return app


def csrf_token(html: str) -> str:
    """The signed CSRF token in a page's form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def write_form(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """A complete, valid write-page form for Aldershot, with overrides."""
    page = client.get(
        f"/campaigns/{CAMPAIGN}/write?letter=general&constituency=E14001063&postcode=GU11+1AA"
    )
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "letter": "general",
        "constituency": "E14001063",
        "lookup_postcode": "GU11 1AA",
        "partner": "",
        "name": "Ayesha Khan",
        "email": "ayesha@example.org",
        "address": "1 High Street\nAldershot",
        "postcode": "gu111aa",
        "personal_words": "My cousin has not been heard from since 2018. Please help.",
    }
    form.update(overrides)
    return form
