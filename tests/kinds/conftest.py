"""Fixtures for the campaign kinds: fake postcodes.io and SendGrid, and a petition."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import compose_notification
from advocacy.kinds import targets
from advocacy.models import (
    Campaign,
    CampaignKind,
    Letter,
    LetterTemplate,
    Notification,
    NotificationKind,
)
from tests.campaigns.conftest import csrf_token, postcodes_io, seeded
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid

__all__ = ["postcodes_io", "seeded"]

PETITION = "free-the-detained"

PETITION_LETTER = """\
Dear {{ recipients }},

We, the undersigned, are deeply concerned about the detention of Uyghurs in the Xinjiang \
Uyghur Autonomous Region. I therefore urge you to:

• Immediately release all those arbitrarily detained;
• Pending their release, disclose detainees' whereabouts to their families.
"""

# Officials named as their own governments write them, and as the world knows them.
XI = ("Xi Jinping 习近平", "President of the People's Republic of China", "xi@gov.example")
MA = ("Ma Xingrui 马兴瑞", "Party Secretary of Xinjiang", "ma@gov.example")
ERKIN = ("Erkin Tuniyaz ئەركىن تۇنىياز", "Chairman of Xinjiang", None)
ERKIN_ADDRESS = "新疆维吾尔自治区人民政府\n乌鲁木齐市中山路2号\nئۈرۈمچی"


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    """A running fake SendGrid."""
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def settings(
    database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake, fake_sendgrid: FakeSendGrid
) -> Settings:
    """Settings using the fake postcodes.io and the fake SendGrid."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "POSTCODES_IO_URL": postcodes_io.url,
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake_sendgrid.api_key,
            "SENDGRID_API_HOST": fake_sendgrid.url,
        },
    )


@pytest.fixture
def petition(seeded: Flask, session: Session) -> Campaign:
    """A live petition to three officials: two by email, one by post."""
    return make_petition(session)


def make_petition(session: Session) -> Campaign:
    """Save a live petition to three officials: two by email, one by post."""
    campaign = Campaign(
        slug=PETITION,
        kind=CampaignKind.PETITION,
        title="Free the detained",
        summary="Ask the officials responsible to release those detained in Xinjiang.",
        sender_name="Uyghur Rights Group",
    )
    session.add(campaign)
    session.flush()
    session.add(
        LetterTemplate(
            campaign_id=campaign.id,
            slug="letter",
            title="The letter",
            subject_template="Release the detained Uyghurs",
            body_template=PETITION_LETTER,
        )
    )
    for name, role, email in (XI, MA):
        targets.add_target(session, campaign, name=name, role=role, email=email)
    targets.add_target(
        session,
        campaign,
        name=ERKIN[0],
        role=ERKIN[1],
        postal_address=ERKIN_ADDRESS,
        country_code="CN",
    )
    session.commit()
    return campaign


def sign(client: FlaskClient, slug: str = PETITION, **fields: str) -> tuple[int, str]:
    """Fill in and post the signing form; return the status and the page."""
    page = client.get(f"/campaigns/{slug}/sign")
    assert page.status_code == 200
    form = {
        "csrf_token": csrf_token(page.get_data(as_text=True)),
        "name": "Marie Dupont",
        "email": "marie@example.fr",
        "country": "FR",
        "postcode": "",
        "comment": "",
        "partner": "",
    }
    form.update(fields)
    response = client.post(f"/campaigns/{slug}/sign", data=form)
    return response.status_code, response.get_data(as_text=True)


def latest_link(session: Session, settings: Settings) -> str:
    """The path of the link in the newest confirmation email."""
    session.expire_all()
    note = session.scalars(
        select(Notification)
        .where(Notification.kind == NotificationKind.CONFIRMATION)
        .order_by(Notification.id.desc())
    ).first()
    assert note is not None
    email = compose_notification(note, settings)
    match = re.search(r"http://localhost(/\S+)", email.text)
    assert match, email.text
    return match.group(1)


def confirm_latest(client: FlaskClient, session: Session, settings: Settings) -> str:
    """Follow the newest confirmation email's link and press its button; return the redirect."""
    link = latest_link(session, settings)
    page = client.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    response = client.post(link, data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 303
    return response.headers["Location"]


def signed(
    client: FlaskClient, session: Session, settings: Settings, slug: str = PETITION, **fields: str
) -> Letter:
    """Sign and confirm; return the signature's letter."""
    status, page = sign(client, slug, **fields)
    assert status == 303, page
    confirm_latest(client, session, settings)
    session.expire_all()
    return session.scalars(select(Letter).order_by(Letter.id.desc())).first()  # type: ignore[return-value]


BIDI_CONTROLS = dict.fromkeys(
    map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def pdf_text(data: bytes, *, layout: bool = False) -> str:
    """A PDF's text as poppler's pdftotext reads it, without bidi control marks."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    args = [pdftotext, *(["-layout"] if layout else []), "-", "-"]
    result = subprocess.run(args, input=data, capture_output=True, check=True, timeout=60)
    return result.stdout.decode("utf-8").translate(BIDI_CONTROLS)
