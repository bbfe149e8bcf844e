"""A partner's page on another site embeds the form with one script: real Chromium, two origins.

The host page is served from http://localhost:PORT1 and the app from http://127.0.0.1:PORT2,
two different sites, with third-party cookies blocked as Safari, Firefox and Chromium's
phase-out do. The journey runs inside the iframe, and what the browser enforces is checked:
the frame resizes to its content, and a site the partner did not allow gets no form.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Letter, PartnerConsent, Signature
from advocacy.partners.services import PartnerDetails, save_partner
from tests.browser.conftest import (
    CHROMIUM_ARGS,
    LiveServer,
    chromium_path,
    drain,
    free_port,
    live_env,
    seeded_app,
)
from tests.conftest import make_settings
from tests.fakes import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid

pytestmark = pytest.mark.browser

CAMPAIGN = "stand-with-the-uyghurs"
WORDING = "Keep me informed about the synagogue's social action by email."


class HostPage:
    """A partner's own page on its own origin, holding the one-line snippet."""

    def __init__(self, app_url: str, port: int) -> None:
        snippet = (
            f'<script src="{app_url}/embed.js" data-campaign="{CAMPAIGN}" '
            'data-partner="example-synagogue" async></script>'
        )
        page = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Example Synagogue: social action</title></head><body>"
            f"<h1>Write to your MP with us</h1>{snippet}<p>Thank you.</p></body></html>"
        ).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://localhost:{port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> HostPage:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def strict_browser(browser: Any) -> Iterator[Any]:
    """Chromium that blocks third-party cookies, as browsers increasingly do by default."""
    # Launched from the session's Playwright: a second Playwright cannot run beside it.
    strict = browser.browser_type.launch(
        executable_path=chromium_path(),
        args=[*CHROMIUM_ARGS, "--test-third-party-cookie-phaseout"],
        headless=True,
    )
    yield strict
    strict.close()


@pytest.fixture
def sites(
    database_url: str, tmp_path: Path
) -> Iterator[tuple[LiveServer, HostPage, HostPage, FakeSendGrid, Flask]]:
    """The app, the partner's page (allowed) and another page (not allowed)."""
    app_port, host_port, other_port = free_port(), free_port(), free_port()
    with PostcodesIoFake(recorded=True) as postcodes, FakeSendGrid() as sendgrid:
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={
                **live_env(app_port, postcodes.url, sendgrid.url),
            },
        )
        with seeded_app(settings, database_url) as app:
            with db.transaction() as session:
                save_partner(
                    session,
                    PartnerDetails(
                        slug="example-synagogue",
                        name="Example Synagogue Social Action",
                        allowed_origins=(f"http://localhost:{host_port}",),
                        accent_colour="#5a2d82",
                        consent_wording=WORDING,
                    ),
                )
            with LiveServer(app, app_port) as server:
                host = HostPage(server.url, host_port)
                other = HostPage(server.url, other_port)
                with host, other:
                    yield server, host, other, sendgrid, app


def test_a_partner_page_embeds_the_whole_journey(
    strict_browser: Any,
    sites: tuple[LiveServer, HostPage, HostPage, FakeSendGrid, Flask],
    artifacts_dir: Path,
) -> None:
    server, host, _other, sendgrid, app = sites
    context = strict_browser.new_context(viewport={"width": 800, "height": 1000})
    page = context.new_page()
    page.goto(f"{host.url}/?source=synagogue-newsletter")
    iframe = page.locator("iframe")
    iframe.wait_for()
    form = page.frame_locator("iframe")
    form.get_by_label("Your postcode").fill("SW1A 1AA")
    form.get_by_role("button", name="Find my MP").click()
    form.get_by_role("link", name=re.compile("Write this letter")).first.click()
    form.get_by_label("Your full name").fill("Miriam Cohen")
    form.get_by_label("Your email address").fill("miriam@example.org")
    form.get_by_label("Your street address").fill("3 Horse Guards Road\nLondon")
    form.locator("textarea[name=personal_words]").fill(
        "Our community remembers what silence costs. Please speak for them in Parliament."
    )
    form.get_by_role("button", name="Preview my letter").click()
    consent = form.get_by_label(WORDING)
    assert not consent.is_checked(), "the partner's box starts unticked"
    consent.check()
    page.screenshot(path=str(artifacts_dir / "embed-preview.png"), full_page=True)
    form.get_by_role("button", name="Send my letter").click()
    form.get_by_role("heading", name=re.compile("Check your email")).wait_for()

    # The frame grew or shrank to its content, through postMessage from the app's origin.
    page.wait_for_function(
        "() => document.querySelector('iframe').style.height !== '32rem'", timeout=10_000
    )
    frame_height = iframe.evaluate("el => el.getBoundingClientRect().height")
    content_height = page.frames[1].evaluate("() => document.documentElement.scrollHeight")
    assert abs(frame_height - content_height) <= 2
    assert context.cookies() == [], "the form sets no cookie, first- or third-party"

    with app.app_context():
        letter = db.session.scalars(select(Letter)).one()
        assert letter.source == "synagogue-newsletter"
        assert letter.partner_id is not None
        consent_row = db.session.scalars(select(PartnerConsent)).one()
        assert consent_row.wording.text == WORDING
        assert consent_row.wording.version == 1

    # The confirmation link opens the full site; then the letter goes to the MP.
    drain(app)
    text = sendgrid.accepted[0].content("text/plain") or ""
    link = re.search(rf"{re.escape(server.url)}/letters/confirm/\S+", text)
    assert link, text
    top = context.new_page()
    top.goto(link.group(0))
    top.get_by_role("button", name="Confirm and send my letter").click()
    top.get_by_role("heading", name=re.compile("Thank you")).wait_for()
    drain(app)
    assert any(m.to != ["miriam@example.org"] for m in sendgrid.accepted[1:])
    with app.app_context():
        signature = db.session.scalars(select(Signature)).one()
        assert signature.source == "synagogue-newsletter"
        assert signature.partner_id == letter.partner_id
        assert db.session.scalars(select(PartnerConsent)).one().confirmed_at is not None
    context.close()


def test_a_site_the_partner_did_not_allow_gets_no_form(
    strict_browser: Any, sites: tuple[LiveServer, HostPage, HostPage, FakeSendGrid, Flask]
) -> None:
    _server, _host, other, _sendgrid, _app = sites
    context = strict_browser.new_context()
    page = context.new_page()
    page.goto(other.url)
    page.locator("iframe").wait_for()
    page.wait_for_timeout(1500)
    framed = page.frames[1]
    # frame-ancestors refuses the page: Chromium shows its error page, not the form.
    assert framed.locator("text=Find my MP").count() == 0
    context.close()
