"""The workspace in real headless Chromium: from the first owner to a constituent's letter."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docx
import pytest
from flask import Flask
from sqlalchemy import select

from advocacy import create_app
from advocacy.directory.service import get_directory
from advocacy.directory.snapshot import load_snapshot
from advocacy.extensions import db
from advocacy.models import Letter, LetterState
from advocacy.workspace.access import Role
from tests.browser.conftest import LiveServer, drain, free_port, live_env
from tests.conftest import clean_database, make_settings
from tests.fakes import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid
from tests.workspace.conftest import STAFF_PASSWORD, create_staff

pytestmark = pytest.mark.browser

OWNER_PASSWORD = "kettle window orchard 1987"
OWN_WORDS = "Our library is the only warm, free place my children can do their homework."
SAMPLE_SEAT = "E14001063"  # Aldershot
WESTMINSTER = "E14001172"  # Cities of London and Westminster, where SW1A 1AA is


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, FakeSendGrid, Flask]]:
    """The app with the MP directory and no campaign, on loopback, with fake upstreams."""
    port = free_port()
    with PostcodesIoFake(recorded=True) as postcodes, FakeSendGrid() as sendgrid:
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={
                **live_env(port, postcodes.url, sendgrid.url),
            },
        )
        app = create_app(settings)
        with app.app_context():
            clean_database(database_url)
            with db.transaction() as session:
                load_snapshot(session)
            with LiveServer(app, port) as server:
                yield server, sendgrid, app
        db.dispose()


def word_document(path: Path) -> Path:
    """The campaign's template letter as campaigners keep it: a .docx."""
    document = docx.Document()
    for text in (
        "Dear {{ mp_name }},",
        "I am writing to you as a constituent in {{ constituency }} about library closures.",
        "Libraries are where children read, where people look for work, and where the "
        "lonely find company.",
        "Yours sincerely,",
        "{{ sender_name }}",
    ):
        document.add_paragraph(text)
    document.save(str(path))
    return path


def log_in(page: Any, url: str, email: str, password: str) -> None:
    """Fill the login form."""
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button:has-text('Log in')")


def test_owner_builds_a_campaign_that_a_constituent_then_writes_through(
    browser: Any,
    live: tuple[LiveServer, FakeSendGrid, Flask],
    artifacts_dir: Path,
    tmp_path: Path,
) -> None:
    server, sendgrid, app = live

    # The first owner comes from the command line, with a link rather than a password.
    created = app.test_cli_runner().invoke(args=["users", "create", "owner@example.org"])
    assert created.exit_code == 0, created.output
    link = re.search(rf"{re.escape(server.url)}/workspace/set-password/\S+", created.output)
    assert link, created.output

    staff = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = staff.new_page()
    page.set_default_timeout(15_000)
    page.goto(link.group(0))
    page.fill("input[name=password]", OWNER_PASSWORD)
    page.fill("input[name=confirm]", OWNER_PASSWORD)
    page.click("button:has-text('Save password')")
    page.wait_for_selector("text=Your password is set")
    log_in(page, server.url, "owner@example.org", OWNER_PASSWORD)
    page.wait_for_selector("h1:has-text('Hello')")
    cookie = next(c for c in staff.cookies() if c["name"] == "workspace_session")
    assert (cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == (
        "/workspace",
        True,
        "Strict",
    )

    # A new campaign, first as a draft.
    page.click("nav >> text=Campaigns")
    page.click("text=New campaign")
    page.fill("#title", "Save our libraries")
    page.fill("#summary", "Councils are closing libraries. Ask your MP to help keep them open.")
    page.fill("#why_it_matters", "Libraries are lifelines.")
    page.fill("#sender_name", "Friends of Libraries")
    page.fill("#goal", "500")
    page.click("button:has-text('Save campaign')")
    page.wait_for_selector("text=Campaign created")

    # Its letter, imported from a Word document.
    page.click("text=Add a letter")
    page.click("summary:has-text('Start from a Word document')")
    page.set_input_files("#document", str(word_document(tmp_path / "Library letter.docx")))
    page.click("button:has-text('Import')")
    page.wait_for_selector("text=Place {{ personal_words }}")
    body = page.input_value("#body_template")
    assert "I am writing to you as a constituent in {{ constituency }}" in body
    assert "\n\nLibraries are where children read" in body  # paragraphs kept
    page.click("button:has-text('Save letter')")
    page.wait_for_selector("text=must include {{ personal_words }}")  # refused, nothing lost
    assert page.input_value("#body_template") == body

    # Live preview for a sample MP: updated by the script as the editor types.
    with app.app_context():
        sample = get_directory().by_constituency(SAMPLE_SEAT)
    assert sample is not None
    page.select_option("#sample_constituency", SAMPLE_SEAT)
    paragraphs = body.split("\n\n")
    page.fill(
        "#body_template",
        "\n\n".join([*paragraphs[:2], "{{ personal_words }}", *paragraphs[2:]]),
    )
    page.wait_for_function(
        "expected => document.getElementById('preview-body').textContent.includes(expected)",
        arg=f"Dear {sample.salutation_name},",
    )
    assert "Ayesha Khan via Friends of Libraries" in page.inner_text("#preview-from")
    assert sample.constituency_name in page.inner_text("#preview-body")
    assert page.inner_text("#preview-problems") == ""
    page.screenshot(path=str(artifacts_dir / "workspace-editor.png"), full_page=True)
    page.click("button:has-text('Save letter')")
    page.wait_for_selector("text=Letter saved as version 1")

    # Live.
    page.click("text=Save our libraries")
    page.click("text=Edit details")
    page.select_option("#status", "live")
    page.click("button:has-text('Save campaign')")
    page.wait_for_selector("text=Campaign saved")

    # A constituent writes through the public journey, in a browser with no staff cookie.
    public = browser.new_context(viewport={"width": 900, "height": 1200})
    person = public.new_page()
    person.set_default_timeout(15_000)
    person.goto(f"{server.url}/campaigns/save-our-libraries")
    person.fill("input[name=postcode]", "SW1A 1AA")
    person.click("text=Find my MP")
    person.wait_for_selector("h1:has-text('Your MP is')")
    person.click("li:has-text('Library letter') >> text=Write this letter")
    person.fill("input[name=name]", "Ayesha Khan")
    person.fill("input[name=email]", "ayesha@example.org")
    person.fill("textarea[name=address]", "10 Downing Street\nLondon")
    person.fill("textarea[name=personal_words]", OWN_WORDS)
    person.click("text=Preview my letter")
    person.wait_for_selector("h1:has-text('Check your letter')")
    assert OWN_WORDS in person.input_value("textarea[name=body]")
    person.click("text=Send my letter")
    person.wait_for_selector("h1:has-text('Check your email')")
    drain(app)
    text = sendgrid.accepted[-1].content("text/plain") or ""
    confirm = re.search(rf"{re.escape(server.url)}/letters/confirm/\S+", text)
    assert confirm, text
    person.goto(confirm.group(0))
    person.click("text=Confirm and send my letter")
    person.wait_for_selector("h1:has-text('Thank you')")
    assert public.cookies() == []
    drain(app)
    with app.app_context():
        westminster = get_directory().by_constituency(WESTMINSTER)
        letter = db.session.scalars(select(Letter)).one()
        assert letter.state == LetterState.SENT
        assert letter.template_version == 1
        assert OWN_WORDS in letter.body_text
    assert westminster is not None
    assert [m for m in sendgrid.accepted if westminster.email in m.to]
    public.close()

    # The dashboard, its map and its export show the letter.
    page.goto(f"{server.url}/workspace/campaigns/save-our-libraries/dashboard")
    headline = page.locator("dl.headline")
    assert headline.locator("div:has(dt:text-is('Signatures')) dd").inner_text() == "1"
    assert headline.locator("div:has(dt:text-is('Letters sent')) dd").inner_text() == "1"
    hexagon = page.locator(f"svg.hexmap a[href$='/{WESTMINSTER}']")
    assert "1 letter" in (hexagon.get_attribute("aria-label") or "")
    page.screenshot(path=str(artifacts_dir / "workspace-dashboard.png"), full_page=True)
    export = staff.request.get(
        f"{server.url}/workspace/campaigns/save-our-libraries/exports/signatures.csv"
    )
    assert export.ok
    rows = export.text().strip().splitlines()
    assert len(rows) == 2  # the header and this letter
    assert westminster.constituency_name in rows[1]
    assert "ayesha" not in export.text().lower()  # no personal data in the aggregate export

    # A viewer can look but not edit.
    with app.app_context():
        create_staff(db.session, Role.VIEWER, email="viewer@example.org")
    viewing = browser.new_context()
    viewer = viewing.new_page()
    viewer.goto(f"{server.url}/workspace/campaigns/save-our-libraries")
    log_in(viewer, server.url, "viewer@example.org", STAFF_PASSWORD)
    viewer.wait_for_selector("h1:has-text('Save our libraries')")
    assert viewer.locator("text=Edit details").count() == 0
    refused = viewer.goto(f"{server.url}/workspace/campaigns/save-our-libraries/edit")
    assert refused is not None
    assert refused.status == 403
    viewing.close()

    # Logging out ends the session; a logged-out visitor is sent to the login page.
    page.click("button:has-text('Log out')")
    page.wait_for_selector("text=You are logged out")
    page.goto(f"{server.url}/workspace/campaigns/save-our-libraries/edit")
    assert page.url.startswith(f"{server.url}/workspace/login?next=")
    assert page.locator("h1:has-text('Log in')").count() == 1
    staff.close()
