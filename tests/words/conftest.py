"""Fixtures for the words tests: the seeded campaign, its journey, and letters' own words."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import compose_notification
from advocacy.models import Campaign, Letter, Notification, NotificationKind
from tests.campaigns.conftest import CAMPAIGN, csrf_token, postcodes_io, seeded, write_form
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake

__all__ = ["postcodes_io", "seeded"]

# Distinct letters, as different people write them.
OWN_WORDS = (
    "My grandmother taught me Uyghur songs in Ghulja. Since 2017 I cannot reach her, and "
    "nobody will tell us whether she is alive.",
    "As a nurse in Farnborough I buy gloves for my ward, and I want to know none of them "
    "were made by people forced to work in camps.",
    "I am a student of history. What is happening in Xinjiang is documented by the UN, "
    "and our country should not look away again.",
    "My neighbour's husband went back to Urumqi for his father's funeral in 2016 and never "
    "came home. Their children still ask about him.",
    "Our mosque collected letters last Friday. I am writing because my faith teaches that "
    "every person's dignity matters, wherever they live.",
    "I run a small clothing shop in Aldershot. I want the law to make it easy for shops "
    "like mine to prove our cotton is clean.",
)

# The paragraph that a hundred people pasted from the same message.
CIRCULATED = (
    "I am deeply concerned about the treatment of the Uyghur people. Please raise this in "
    "Parliament and press the Government to act against forced labour now."
)

# The same paragraph as another person pastes it: other case, spacing and punctuation.
CIRCULATED_AGAIN = (
    "i am DEEPLY concerned about the treatment of the uyghur people -- please raise this in "
    "parliament, and press the government to act against forced labour NOW!!"
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Settings pointing the app at the fake postcodes.io."""
    return make_settings(
        database_url, tmp_path / "instance", env={"POSTCODES_IO_URL": postcodes_io.url}
    )


@pytest.fixture
def campaign(seeded: Flask, session: Session) -> Campaign:
    """The seeded Uyghur campaign."""
    return session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()


def previewed(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """The preview form as the preview page fills it: the drafted subject and body."""
    form = write_form(client, **overrides)
    page = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert page.status_code == 200, page.get_data(as_text=True)
    markup = page.get_data(as_text=True)
    body = re.search(r'<textarea[^>]*name="body"[^>]*>(.*?)</textarea>', markup, re.S)
    subject = re.search(r'name="subject"[^>]*value="([^"]*)"', markup) or re.search(
        r'value="([^"]*)"[^>]*name="subject"', markup
    )
    assert body, markup
    assert subject, markup
    form["body"] = html.unescape(body.group(1)).strip()
    form["subject"] = html.unescape(subject.group(1))
    form["csrf_token"] = csrf_token(markup)
    return form


def confirm_link(app: Flask, session: Session, letter: Letter) -> str:
    """The confirmation link emailed for a letter."""
    note = session.scalars(
        select(Notification).where(
            Notification.letter_id == letter.id,
            Notification.kind == NotificationKind.CONFIRMATION,
        )
    ).one()
    email = compose_notification(note, app.config["SETTINGS"])
    match = re.search(r"http://localhost(/letters/confirm/\S+)", email.text)
    assert match, email.text
    return match.group(1)


def write_and_confirm(
    client: FlaskClient, app: Flask, session: Session, *, email: str, words: str, **form: str
) -> tuple[Letter, str]:
    """Write, preview, send and confirm a letter through the pages; the letter and thanks URL."""
    data = previewed(client, email=email, personal_words=words, **form)
    sent = client.post(f"/campaigns/{CAMPAIGN}/send", data=data)
    assert sent.status_code == 303, sent.get_data(as_text=True)
    letter = session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    assert letter is not None
    link = confirm_link(app, session, letter)
    landing = client.get(link).get_data(as_text=True)
    confirmed = client.post(link, data={"csrf_token": csrf_token(landing)})
    assert confirmed.status_code == 303
    session.expire_all()
    return letter, confirmed.headers["Location"]
