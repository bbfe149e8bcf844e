"""The whole journey in real headless Chromium, against loopback fakes of every upstream."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Letter, LetterState
from tests.browser.conftest import LiveServer, drain, free_port, live_env, seeded_app
from tests.conftest import make_settings
from tests.fakes import MembersApiFake, PostcodesIoFake, contact_entry
from tests.fakes.sendgrid import FakeSendGrid

pytestmark = pytest.mark.browser

CAMPAIGN = "stand-with-the-uyghurs"
OWN_WORDS = "My brother was taken in 2017 and our family has not heard from him since."
RACHEL_BLAKE = 5257  # MP for Cities of London and Westminster in the shipped snapshot
# The Members API now lists a new address for her, which only a sync can know.
SYNCED_EMAIL = "rachel.blake.office@parliament.uk"


@pytest.fixture
def live(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, FakeSendGrid, Flask]]:
    """The app, seeded and synced, on loopback, wired to fakes of all three upstreams."""
    port = free_port()
    with (
        PostcodesIoFake(recorded=True) as postcodes,
        MembersApiFake() as members,
        FakeSendGrid() as sendgrid,
    ):
        members.load_mp_csv()
        members.set_contacts(
            RACHEL_BLAKE,
            [
                contact_entry(
                    1, email=SYNCED_EMAIL, lines=("House of Commons", "London"), postcode="SW1A 0AA"
                )
            ],
        )
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={
                **live_env(port, postcodes.url, sendgrid.url),
                "MEMBERS_API_URL": members.url,
            },
        )
        with seeded_app(settings, database_url) as app:
            synced = app.test_cli_runner().invoke(args=["mps", "sync", "--backoff", "0"])
            assert synced.exit_code == 0, synced.output
            with LiveServer(app, port) as server:
                yield server, sendgrid, app


def test_journey_from_campaign_page_to_mps_inbox(
    browser: Any, live: tuple[LiveServer, FakeSendGrid, Flask], artifacts_dir: Path
) -> None:
    server, sendgrid, app = live
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(15_000)

    # 1. The campaign page and the postcode box.
    page.goto(f"{server.url}/campaigns/{CAMPAIGN}")
    assert "Stand with the Uyghurs" in page.title()
    assert "0 letters sent so far" in page.inner_text(".count")
    page.screenshot(path=str(artifacts_dir / "1-campaign.png"), full_page=True)
    page.fill("input[name=postcode]", "  sw1a1aa ")
    page.click("text=Find my MP")

    # 2. The MP, and 3. the choice of letter.
    page.wait_for_selector("h1:has-text('Your MP is Rachel Blake')")
    assert "Cities of London and Westminster" in page.inner_text("dl.mp")
    page.screenshot(path=str(artifacts_dir / "2-mp.png"), full_page=True)
    page.click("li:has-text('The persecution of the Uyghurs') >> text=Write this letter")

    # 4. Who they are and their own words; a mistake first, then the fix.
    page.wait_for_selector("h1:has-text('Write to Rachel Blake')")
    page.fill("input[name=name]", "Ayesha Khan")
    page.fill("input[name=email]", "not-an-email")
    page.fill("textarea[name=address]", "10 Downing Street\nLondon")
    page.fill("textarea[name=personal_words]", OWN_WORDS)
    page.click("text=Preview my letter")
    page.wait_for_selector(".error-summary")
    assert "An email address needs an @" in page.inner_text(".error-summary")
    assert page.input_value("textarea[name=personal_words]") == OWN_WORDS  # nothing lost
    page.fill("input[name=email]", "ayesha@example.org")
    page.screenshot(path=str(artifacts_dir / "3-write.png"), full_page=True)
    page.click("text=Preview my letter")

    # 5. The exact email, editable.
    page.wait_for_selector("h1:has-text('Check your letter')")
    assert (
        page.inner_text(".email-from")
        == "Ayesha Khan via Stand with the Uyghurs <letters@campaign.example>"
    )
    assert page.inner_text(".email-reply-to") == "Ayesha Khan <ayesha@example.org>"
    assert page.inner_text(".email-to") == f"Rachel Blake <{SYNCED_EMAIL}>"
    body = page.input_value("textarea[name=body]")
    assert body.startswith("Dear Rachel Blake,")
    assert OWN_WORDS in body
    page.fill("textarea[name=body]", body + "\n\nP.S. I would be glad to meet you.")
    page.screenshot(path=str(artifacts_dir / "4-preview.png"), full_page=True)
    page.click("text=Send my letter")

    # 6. Nothing is sent until the emailed link is clicked.
    page.wait_for_selector("h1:has-text('Check your email')")
    assert "has not been sent yet" in page.inner_text("main")
    drain(app)
    confirmations = sendgrid.accepted
    assert [m.to for m in confirmations] == [["ayesha@example.org"]]
    assert not [m for m in sendgrid.accepted if SYNCED_EMAIL in m.to]
    text = confirmations[0].content("text/plain") or ""
    link = re.search(rf"{re.escape(server.url)}/letters/confirm/\S+", text)
    assert link, text
    page.goto(link.group(0))
    page.click("text=Confirm and send my letter")

    # 8. Thank-you page with the updated count.
    page.wait_for_selector("h1:has-text('Thank you')")
    assert "1 letter sent so far" in page.inner_text(".count")
    page.screenshot(path=str(artifacts_dir / "5-thanks.png"), full_page=True)

    # 7. The worker sends it to the MP's inbox.
    drain(app)
    letters = [m for m in sendgrid.accepted if SYNCED_EMAIL in m.to]
    assert len(letters) == 1
    payload = letters[0].payload
    assert payload["from"] == {
        "email": "letters@campaign.example",
        "name": "Ayesha Khan via Stand with the Uyghurs",
    }
    assert payload["reply_to"] == {"email": "ayesha@example.org", "name": "Ayesha Khan"}
    assert payload["subject"] == "Your constituent on the persecution of the Uyghurs"
    plain = letters[0].content("text/plain") or ""
    html = letters[0].content("text/html") or ""
    for expected in (
        OWN_WORDS,
        "P.S. I would be glad to meet you.",
        "10 Downing Street",
        "SW1A 1AA",
    ):
        assert expected in plain
    assert "Dear Rachel Blake," in html
    tracking = payload.get("tracking_settings", {})
    assert tracking.get("click_tracking", {}).get("enable") is False
    assert tracking.get("open_tracking", {}).get("enable") is False
    with app.app_context():
        letter = db.session.scalars(select(Letter)).one()
        assert letter.state == LetterState.SENT
        assert letter.message_id == letters[0].message_id
    context.close()
