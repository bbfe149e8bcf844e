"""Letters printed for the post: a print-ready PDF in every script, and fair shares."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.kinds import targets
from advocacy.models import Campaign, CampaignKind, Letter, LetterTemplate, Signature
from tests.campaigns.conftest import csrf_token
from tests.kinds.conftest import pdf_text

POSTAL = "letters-to-prisoners"
PRISONER = "Ilham Tohti ئىلھام توختى 伊力哈木·土赫提"
PRISON_ADDRESS = "乌鲁木齐市第一监狱\nئۈرۈمچى شەھىرى تۈرمىسى\nÜrümqi, Xinjiang, China"
OTHER = "Rahile Dawut راھىلە داۋۇت"
WORDS = "Dear friend, we have not forgotten you. Your students still read your books. — Amina"
MM = 72 / 25.4  # PDF points per millimetre


@pytest.fixture
def postal(seeded: Flask, session: Session) -> Campaign:
    """A live campaign of letters to two prisoners."""
    return make_postal(session)


def make_postal(session: Session) -> Campaign:
    """Save a live campaign of letters to two prisoners."""
    campaign = Campaign(
        slug=POSTAL,
        kind=CampaignKind.POSTAL,
        title="Letters to prisoners",
        summary="Write to Uyghurs held in prison, whose families asked for letters.",
        sender_name="Letter Writers",
        posting_instructions=(
            "International postage: 2 first-class stamps. Write nothing else on the envelope."
        ),
        return_address="Letter Writers\nPO Box 1\nLondon N1 1AA",
    )
    session.add(campaign)
    session.flush()
    session.add(
        LetterTemplate(
            campaign_id=campaign.id,
            slug="letter",
            title="A letter",
            subject_template="A letter",
            body_template="Dear {{ recipient_name }},\n\n{{ personal_words }}\n\nWith warm wishes,",
        )
    )
    targets.add_target(
        session, campaign, name=PRISONER, postal_address=PRISON_ADDRESS, country_code="CN"
    )
    targets.add_target(
        session, campaign, name=OTHER, postal_address="Xinjiang, China", country_code="CN"
    )
    session.commit()
    return campaign


def _write(client: FlaskClient, **fields: str) -> tuple[int, bytes, str]:
    page = client.get(f"/campaigns/{POSTAL}/letter")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    chosen = re.search(r'<option selected value="(\d+)"', html)
    assert chosen, "no recipient offered"
    form = {
        "csrf_token": csrf_token(html),
        "recipient": chosen.group(1),
        "name": "Amina Yusuf",
        "country": "GB",
        "personal_words": WORDS,
        "return_choice": "organisation",
        "return_address": "",
    }
    form.update(fields)
    response = client.post(f"/campaigns/{POSTAL}/letter", data=form)
    return response.status_code, response.get_data(), response.headers.get("Content-Type", "")


def _name_position_mm(pdf: bytes, word: str) -> tuple[float, float]:
    """Where a word starts on the first page, in mm from the top-left corner."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    boxes = subprocess.run(
        [pdftotext, "-bbox", "-f", "1", "-l", "1", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode()
    match = re.search(r'<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>' + re.escape(word), boxes)
    assert match, boxes[:2000]
    return float(match.group(1)) / MM, float(match.group(2)) / MM


def test_the_campaign_page_leads_to_writing(postal: Campaign, client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{POSTAL}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/campaigns/{POSTAL}/letter")


def test_a_printed_letter_renders_chinese_uyghur_and_latin_as_written(
    postal: Campaign, client: FlaskClient, session: Session
) -> None:
    status, pdf, content_type = _write(client)
    assert status == 200
    assert content_type == "application/pdf"
    text = pdf_text(pdf)
    for expected in (
        "Ilham Tohti",
        "ئىلھام توختى",
        "伊力哈木·土赫提",
        "乌鲁木齐市第一监狱",
        "ئۈرۈمچى شەھىرى تۈرمىسى",
        "we have not forgotten you",
        "Amina Yusuf",
        "PO Box 1",
        "2 first-class stamps",
    ):
        assert expected in text, expected
    # A4 for a writer in the UK, the address inside a DL window (20 mm in, 45 mm down).
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    left, top = _name_position_mm(pdf, "Ilham")
    assert 19 <= left <= 30
    assert 45 <= top <= 85
    # Only a count is kept: no letter, no name.
    assert session.scalars(select(Letter)).first() is None
    [signature] = session.scalars(select(Signature).where(Signature.campaign_id == postal.id))
    assert signature.country_code == "GB"


def test_a_writer_in_the_us_gets_us_letter_for_a_no_10_window(
    postal: Campaign, client: FlaskClient
) -> None:
    status, pdf, _ = _write(client, country="US", return_choice="none")
    assert status == 200
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (612, 792)
    left, top = _name_position_mm(pdf, "Ilham")
    assert 22 <= left <= 30
    assert 52 <= top <= 80
    assert "PO Box 1" not in pdf_text(pdf)


def test_each_writer_is_offered_the_recipient_with_fewest_letters(
    postal: Campaign, client: FlaskClient, session: Session
) -> None:
    for _ in range(3):
        status, _pdf, _ = _write(client)
        assert status == 200
    counts = dict(
        session.execute(
            select(Signature.target_id, func.count(Signature.id)).group_by(Signature.target_id)
        ).all()
    )
    assert sorted(counts.values()) == [1, 2]


def test_my_own_return_address_needs_an_address(postal: Campaign, client: FlaskClient) -> None:
    status, page, _ = _write(client, return_choice="mine")
    assert status == 422
    assert b"Please enter your address" in page
    assert WORDS.encode() in page
    status, pdf, _ = _write(client, return_choice="mine", return_address="7 Elm Road\nLeeds")
    assert status == 200
    assert "7 Elm Road" in pdf_text(pdf)
