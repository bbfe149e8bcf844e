"""The confirmation link's page: the whole letter, exactly as it will be sent."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Letter
from tests.campaigns.conftest import send_letter
from tests.campaigns.test_journey import _confirm_link, raw, text

pytestmark = pytest.mark.usefixtures("seeded")

SITE = "Stand with the Uyghurs"
DASH = "\N{EN DASH}"
MP_EMAIL = "alex.baker.mp@parliament.uk"
SUBJECT = "Your constituent on the persecution of the Uyghurs"


def write(client: FlaskClient, words: str, email: str = "ayesha@example.org") -> None:
    """Write, preview and send a letter (awaiting its link) whose body holds `words`."""
    body = f"Dear Alex Baker,\n\n{words}\n\nYours sincerely,\nAyesha Khan"
    sent = send_letter(client, subject=SUBJECT, body=body, email=email)
    assert sent.status_code == 303, raw(sent)


def letter_with(session: Session, words: str) -> Letter:
    """The saved letter whose body holds `words`."""
    session.expire_all()
    return session.scalars(select(Letter).where(Letter.body_text.contains(words))).one()


def title(response: object) -> str:
    """The text of a page's <title>."""
    match = re.search(r"<title>(.*?)</title>", raw(response), re.S)
    assert match, "no <title>"
    return re.sub(r"\s+", " ", match.group(1)).strip()


# The confirm page -----------------------------------------------------------------------------


def test_confirm_page_shows_the_whole_letter_as_the_mp_receives_it(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    write(client, "My cousin has not been heard from since 2018.")
    letter = letter_with(session, "My cousin")
    page = client.get(_confirm_link(app, session, letter))
    assert page.status_code == 200
    html = raw(page)
    assert "Ayesha Khan via Stand with the Uyghurs &lt;letters@campaign.example&gt;" in html
    assert '<dd class="email-reply-to">Ayesha Khan &lt;ayesha@example.org&gt;</dd>' in html
    assert f"Alex Baker &lt;{MP_EMAIL}&gt;" in html
    assert f'<dd class="email-subject">{SUBJECT}</dd>' in html
    body = re.search(r'<pre class="letter-body">(.*?)</pre>', html, re.S)
    assert body is not None
    assert body.group(1) == (
        "Dear Alex Baker,\n\nMy cousin has not been heard from since 2018.\n\n"
        "Yours sincerely,\nAyesha Khan"
    )
    block = re.search(r'<pre class="signature">(.*?)</pre>', html, re.S)
    assert block is not None
    assert block.group(1).splitlines()[:4] == [
        "1 High Street",
        "Aldershot",
        "GU11 1AA",
        "ayesha@example.org",
    ]
    assert "Confirm and send my letter" in text(page)
    assert title(page) == f"Confirm your letter {DASH} {SITE}"
    assert page.headers["Cache-Control"] == "no-store"
