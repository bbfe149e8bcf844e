"""Privacy and own words in real headless Chromium: erasing through the emailed link, sending
from one's own mailbox, and a near-copy held, approved by a moderator and delivered."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy.extensions import db
from advocacy.models import Campaign, Letter, LetterState, Signature
from advocacy.privacy import services
from tests.browser.conftest import LiveServer, drain, emailed_link, free_port, live_env, seeded_app
from tests.conftest import make_settings
from tests.fakes import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid
from tests.privacy.conftest import AYESHA, add_person
from tests.words.conftest import CIRCULATED, CIRCULATED_AGAIN
from tests.words.test_services import _confirm, _letter
from tests.workspace.conftest import STAFF_PASSWORD, _cheap_password_hashes, create_staff

__all__ = ["_cheap_password_hashes"]

pytestmark = pytest.mark.browser

CAMPAIGN = "stand-with-the-uyghurs"
ALDERSHOT_MP = "Alex Baker"
MP_EMAIL = "alex.baker.mp@parliament.uk"


@dataclasses.dataclass
class Live:
    """The running app, its fakes, and a browser page."""

    server: LiveServer
    sendgrid: FakeSendGrid
    app: Flask
    page: Any

    def drain(self) -> None:
        """Run the delivery worker until nothing is due."""
        drain(self.app)

    def emailed_link(self, to: str, path: str) -> str:
        """The newest link under `path` in a message the fake accepted for `to`."""
        return emailed_link(self.sendgrid, self.server.url, to, path)


@pytest.fixture
def live(browser: Any, database_url: str, tmp_path: Path) -> Iterator[Live]:
    """The seeded app on loopback, with fake postcodes.io and SendGrid, and a browser page."""
    port = free_port()
    with PostcodesIoFake(recorded=True) as postcodes, FakeSendGrid() as sendgrid:
        postcodes.add_postcode("GU11 1AA", constituency_code="E14001063")  # Aldershot
        settings = make_settings(
            database_url,
            tmp_path / "instance",
            env={
                **live_env(port, postcodes.url, sendgrid.url),
            },
        )
        with seeded_app(settings, database_url) as app:
            context = browser.new_context(viewport={"width": 900, "height": 1200})
            page = context.new_page()
            page.set_default_timeout(15_000)
            with LiveServer(app, port) as server:
                yield Live(server, sendgrid, app, page)
            context.close()


def _campaign() -> Campaign:
    return db.session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()


def _write(live: Live, words: str) -> None:
    """From the campaign page to the write page for Aldershot, filled in."""
    page = live.page
    page.goto(f"{live.server.url}/campaigns/{CAMPAIGN}")
    page.fill("input[name=postcode]", "GU11 1AA")
    page.click("text=Find my MP")
    page.wait_for_selector(f"h1:has-text('Your MP is {ALDERSHOT_MP}')")
    page.click("li:has-text('The persecution of the Uyghurs') >> text=Write this letter")
    page.wait_for_selector(f"h1:has-text('Write to {ALDERSHOT_MP}')")
    page.fill("input[name=name]", "Rahima Tohti")
    page.fill("input[name=email]", "rahima@example.org")
    page.fill("textarea[name=address]", "4 Grosvenor Road\nAldershot")
    page.fill("textarea[name=personal_words]", words)


def test_a_person_exports_and_erases_their_data_through_the_emailed_link(
    live: Live, artifacts_dir: Path
) -> None:
    session = db.session
    add_person(session, _campaign(), AYESHA)
    page = live.page
    page.goto(f"{live.server.url}/campaigns/{CAMPAIGN}")
    assert "28 days after it is delivered" in page.inner_text("footer")
    page.click("footer >> text=See or erase your data")
    page.fill("input[name=email]", AYESHA.email)
    page.click("text=Email me a link")
    page.wait_for_selector("h1:has-text('Check your email')")
    live.drain()
    link = live.emailed_link(AYESHA.email, "/privacy/my-data/view?t=")

    page.goto(link)
    page.wait_for_selector("h1:has-text('What we hold about you')")
    shown = page.inner_text("main")
    assert AYESHA.name in shown
    assert AYESHA.words in shown
    page.screenshot(path=str(artifacts_dir / "privacy-1-my-data.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Download it all (JSON)")
    exported = json.loads(Path(download.value.path()).read_text())
    assert exported["data"]["letters"]["rows"][0]["your_words"] == AYESHA.words

    page.click("text=Erase everything now")
    page.wait_for_selector(".error-summary")
    page.check("input[name=confirm]")
    page.click("text=Erase everything now")
    page.wait_for_selector("h1:has-text('Everything is erased')")
    session.expire_all()
    assert set(services.held_counts(session, AYESHA.subject).values()) == {0}
    page.goto(link)
    assert "We hold nothing about this address" in page.inner_text("main")


def test_a_person_sends_from_their_own_mailbox_and_is_counted_without_their_words(
    live: Live, artifacts_dir: Path
) -> None:
    words = "I grew up in Aldershot and my Uyghur neighbours' families have vanished."
    _write(live, words)
    page = live.page
    page.click("text=Preview my letter")
    page.wait_for_selector("h2:has-text('Or send it from your own email')")
    assert "This way keeps less" in page.inner_text(".send-yourself")
    page.fill(
        "textarea[name=body]", page.input_value("textarea[name=body]") + "\n\nP.S. Thank you."
    )
    # The page's script keeps the links in step with the edit.
    mailto = page.get_attribute("[data-compose=mailto]", "href") or ""
    assert mailto.startswith(f"mailto:{MP_EMAIL}?subject=")
    assert "P.S.%20Thank%20you." in mailto
    gmail = page.get_attribute("[data-compose=gmail]", "href") or ""
    assert "P.S.%20Thank%20you." in gmail
    page.screenshot(path=str(artifacts_dir / "privacy-2-send-yourself.png"), full_page=True)
    page.check("input[name=count_me]")
    page.click("text=I have sent it")
    page.wait_for_selector("h1:has-text('Thank you for sending your letter yourself')")
    assert "We counted you" in page.inner_text("main")
    assert "1 letter sent so far" in page.inner_text(".count")
    session = db.session
    session.expire_all()
    assert session.scalars(select(Letter)).all() == []
    [counted] = session.scalars(select(Signature)).all()
    assert counted.is_self_sent
    assert counted.constituency_code == "E14001063"
    assert live.sendgrid.accepted == []


def test_a_near_copy_is_hinted_held_approved_by_a_moderator_and_delivered(
    live: Live, artifacts_dir: Path
) -> None:
    session = db.session
    campaign = _campaign()
    # Three earlier letters to the same MP carry the circulated paragraph.
    quiet = dataclasses.replace(live.app.config["SETTINGS"], similarity_hold="off")
    for n in range(3):
        _confirm(session, _letter(session, campaign, CIRCULATED, n=500 + n), quiet)
    _write(live, CIRCULATED_AGAIN)
    page = live.page
    page.click("text=Check my words")
    page.wait_for_selector(".words-hint-close")
    assert f"very close to 3 other letters to {ALDERSHOT_MP}" in page.inner_text(".words-hint")
    page.click("text=Preview my letter")
    page.click("text=Send my letter")
    page.wait_for_selector("h1:has-text('Check your email')")
    live.drain()
    page.goto(live.emailed_link("rahima@example.org", "/letters/confirm/"))
    page.click("text=Confirm and send my letter")
    page.wait_for_selector("h1:has-text('Thank you')")
    session.expire_all()
    held = session.scalars(select(Letter).where(Letter.sender_email == "rahima@example.org")).one()
    assert held.state == LetterState.HELD
    live.drain()
    assert not [m for m in live.sendgrid.accepted if MP_EMAIL in m.to]

    editor = create_staff(session, "editor", email="moderator@staff.example")
    page.goto(f"{live.server.url}/workspace/moderation")
    page.fill("input[name=email]", editor.email)
    page.fill("input[name=password]", STAFF_PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Letters held for review')")
    card = f"#letter-{held.id}"
    assert "similar to 3 other letters to the same MP" in page.inner_text(card)
    assert CIRCULATED[:50] in page.inner_text(f"{card} .similar-letters")
    page.screenshot(path=str(artifacts_dir / "privacy-3-moderation.png"), full_page=True)
    page.click(f"{card} >> text=Approve and send")
    page.wait_for_selector(".notice")
    assert "approved and will be sent" in page.inner_text(".notice")
    live.drain()
    delivered = [m for m in live.sendgrid.accepted if MP_EMAIL in m.to]
    assert len(delivered) == 1
    assert "DEEPLY concerned" in (delivered[0].content("text/plain") or "")
    session.expire_all()
    assert session.get(Letter, held.id).state == LetterState.SENT  # type: ignore[union-attr]
