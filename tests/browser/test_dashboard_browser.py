"""The dashboard, map and CSV in real headless Chromium, after a constituent writes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from advocacy import create_app
from advocacy.campaigns.seed import seed_campaigns
from advocacy.directory.snapshot import load_snapshot
from advocacy.extensions import db
from tests.browser.conftest import LiveServer, drain, free_port, live_env
from tests.conftest import clean_database, make_settings
from tests.fakes import MembersApiFake, PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid
from tests.workspace.conftest import STAFF_PASSWORD, _cheap_password_hashes, create_staff

pytestmark = pytest.mark.browser
__all__ = ["_cheap_password_hashes"]

CAMPAIGN = "stand-with-the-uyghurs"
CITIES_OF_LONDON = "E14001172"
OWNER = "owner@campaign.example"
PASSWORD = "plum orchard lantern seventeen"
OWN_WORDS = "My brother was taken in 2017 and our family has not heard from him since."


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, FakeSendGrid, Flask]]:
    """The seeded app on loopback, with fakes of postcodes.io, the Members API and SendGrid."""
    port = free_port()
    with (
        PostcodesIoFake(recorded=True) as postcodes,
        MembersApiFake() as members,
        FakeSendGrid() as sendgrid,
    ):
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={
                **live_env(port, postcodes.url, sendgrid.url),
                "MEMBERS_API_URL": members.url,
            },
        )
        app = create_app(settings)
        with app.app_context():
            clean_database(database_url)
            with db.transaction() as session:
                seed_campaigns(session)
                load_snapshot(session)
            with LiveServer(app, port) as server:
                yield server, sendgrid, app
        db.dispose()


def _write_a_letter(page: Any, server: LiveServer, sendgrid: FakeSendGrid, app: Flask) -> None:
    page.goto(f"{server.url}/campaigns/{CAMPAIGN}?source=newsletter")
    page.fill("input[name=postcode]", "SW1A 1AA")
    page.click("text=Find my MP")
    page.click("li:has-text('The persecution of the Uyghurs') >> text=Write this letter")
    page.fill("input[name=name]", "Ayesha Khan")
    page.fill("input[name=email]", "ayesha@example.org")
    page.fill("textarea[name=address]", "10 Downing Street\nLondon")
    page.fill("textarea[name=personal_words]", OWN_WORDS)
    page.click("text=Preview my letter")
    page.click("text=Send my letter")
    page.wait_for_selector("h1:has-text('Check your email')")
    drain(app)
    text = sendgrid.accepted[0].content("text/plain") or ""
    link = re.search(rf"{re.escape(server.url)}/letters/confirm/\S+", text)
    assert link, text
    page.goto(link.group(0))
    page.click("text=Confirm and send my letter")
    page.wait_for_selector("h1:has-text('Thank you')")
    drain(app)


def _log_in(page: Any, server: LiveServer, email: str, password: str) -> None:
    page.goto(f"{server.url}/workspace/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("text=Log out")


def test_dashboard_map_and_csv_show_a_constituents_letter(
    browser: Any, live: tuple[LiveServer, FakeSendGrid, Flask], artifacts_dir: Path
) -> None:
    server, sendgrid, app = live
    created = app.test_cli_runner().invoke(args=["users", "create", OWNER, "--role", "owner"])
    assert created.exit_code == 0, created.output
    set_password = re.search(r"http\S+/workspace/set-password/\S+", created.output)
    assert set_password, created.output
    dashboard = f"{server.url}/workspace/campaigns/{CAMPAIGN}/dashboard"

    # A logged-out visitor is sent to the login page.
    visitor = browser.new_context().new_page()
    visitor.goto(dashboard)
    assert "/workspace/login" in visitor.url
    visitor.context.close()

    # The owner sets a password from the printed link and logs in.
    context = browser.new_context(viewport={"width": 1100, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(set_password.group(0).replace("http://localhost", server.url))
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    page.click("button:has-text('Save password')")
    page.wait_for_url(re.compile(r".*/workspace/login.*"))
    _log_in(page, server, OWNER, PASSWORD)

    # A constituent writes through the public journey, in a browser of their own.
    constituent = browser.new_context().new_page()
    constituent.set_default_timeout(15_000)
    _write_a_letter(constituent, server, sendgrid, app)
    constituent.context.close()

    # The dashboard counts it, and the map shades and links the constituency.
    page.goto(dashboard)
    headline = page.inner_text("dl.headline")
    assert re.search(r"Signatures\s+1\b", headline), headline
    assert re.search(r"Letters sent\s+1\b", headline), headline
    hexagon = page.locator(f'svg.hexmap a[href$="/constituencies/{CITIES_OF_LONDON}"]')
    assert hexagon.get_attribute("aria-label") == "Cities of London and Westminster: 1 letter"
    assert page.locator("svg.hexmap polygon").count() == 650
    page.screenshot(path=str(artifacts_dir / "dashboard.png"), full_page=True)
    page.click("text=Source")
    assert "newsletter" in page.inner_text("table.sortable")
    hexagon = page.locator(f'svg.hexmap a[href$="/constituencies/{CITIES_OF_LONDON}"]')
    hexagon.click()
    page.wait_for_selector("h1:has-text('Cities of London and Westminster')")
    assert re.search(r"Sent\s+1\b", page.inner_text("table"))

    # The signatures CSV has the letter, without the writer's name or address.
    page.goto(dashboard)
    with page.expect_download() as download:
        page.click("a:has-text('Signatures')")
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(r["constituency_code"], r["source"], r["delivery_state"]) for r in rows] == [
        (CITIES_OF_LONDON, "newsletter", "sent")
    ]
    assert "Ayesha" not in str(rows)
    context.close()

    # A viewer sees the figures but no personal-data export.
    with app.app_context():
        viewer = create_staff(db.session, "viewer", email="viewer@campaign.example")
    viewer_page = browser.new_context().new_page()
    _log_in(viewer_page, server, viewer.email, STAFF_PASSWORD)
    viewer_page.goto(dashboard)
    assert "Export personal data" not in viewer_page.inner_text("main")
    viewer_page.context.close()
