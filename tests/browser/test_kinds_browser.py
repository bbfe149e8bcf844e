"""Petitions and printed letters in real headless Chromium, against loopback fakes."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from advocacy import create_app
from advocacy.campaigns.seed import seed_campaigns
from advocacy.directory.snapshot import load_snapshot
from advocacy.extensions import db
from advocacy.kinds import bundles
from advocacy.models import Campaign, MemberOfParliament
from tests.browser.conftest import LiveServer, drain, free_port, live_env
from tests.conftest import clean_database, make_settings
from tests.fakes import PostcodesIoFake
from tests.fakes.sendgrid import FakeSendGrid
from tests.kinds.conftest import PETITION, XI, make_petition, pdf_text
from tests.kinds.test_postal import POSTAL, PRISON_ADDRESS, WORDS, make_postal

pytestmark = pytest.mark.browser


@pytest.fixture
def live(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, FakeSendGrid, Flask]]:
    """The app on loopback with a petition and a postal campaign, and fake upstreams."""
    # Bundles normally leave a minute for confirmations still being saved.
    monkeypatch.setattr(bundles, "SETTLE", timedelta(0))
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
        app = create_app(settings)
        with app.app_context():
            clean_database(database_url)
            with db.transaction() as session:
                seed_campaigns(session)
                load_snapshot(session)
            make_petition(db.session)
            make_postal(db.session)
            db.session.commit()
            with LiveServer(app, port) as server:
                yield server, sendgrid, app
        db.dispose()


def _sign(page: Any, server: LiveServer, sendgrid: FakeSendGrid, app: Flask, **fields: str) -> None:
    page.goto(f"{server.url}/campaigns/{PETITION}")
    page.wait_for_selector("h2:has-text('Add your name')")
    page.fill("input[name=name]", fields["name"])
    page.fill("input[name=email]", fields["email"])
    page.select_option("select[name=country]", fields["country"])
    if fields.get("postcode"):
        page.fill("input[name=postcode]", fields["postcode"])
    if fields.get("share"):
        page.check("input[name=share_with_mp]")
    page.click("button:has-text('Sign')")
    page.wait_for_selector("h1:has-text('Check your email')")
    drain(app)
    [confirmation] = [m for m in sendgrid.accepted if fields["email"] in m.to]
    link = re.search(
        rf"{re.escape(server.url)}/signatures/confirm/\S+", confirmation.content("text/plain") or ""
    )
    assert link
    page.goto(link.group(0))
    page.click("text=Confirm my signature")
    page.wait_for_selector("h1:has-text('your signature counts')")


def test_signers_from_abroad_and_the_uk_reach_the_officials_bundle(
    browser: Any, live: tuple[LiveServer, FakeSendGrid, Flask], artifacts_dir: Path
) -> None:
    server, sendgrid, app = live
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(15_000)

    _sign(page, server, sendgrid, app, name="Hanako Sato", email="hanako@example.jp", country="JP")
    page.screenshot(path=str(artifacts_dir / "petition-thanks.png"), full_page=True)
    assert "1 person has signed" in page.inner_text(".count")
    _sign(
        page,
        server,
        sendgrid,
        app,
        name="Ayesha Khan",
        email="ayesha@example.uk",
        country="GB",
        postcode="SW1A 1AA",
    )
    assert "2 people have signed" in page.inner_text(".count")

    # The campaigner sets a schedule; the worker then delivers both signatures to each
    # official with an email address.
    with app.app_context():
        campaign = db.session.scalars(select(Campaign).where(Campaign.slug == PETITION)).one()
        campaign.bundle_every_days = 7
        db.session.commit()
    drain(app)
    [to_xi] = [m for m in sendgrid.accepted if XI[2] in m.to]
    files = to_xi.attachments()
    pdf = next(data for name, data in files.items() if name.endswith(".pdf"))
    table = next(data for name, data in files.items() if name.endswith(".csv"))
    text = pdf_text(pdf)
    for expected in (
        "Hanako Sato",
        "Japan",
        "Ayesha Khan",
        "United Kingdom",
        "2 signatures",
        "Cities of London and Westminster",
    ):
        assert expected in text, expected
    assert "hanako@example.jp" not in text
    rows = list(csv.reader(io.StringIO(table.decode("utf-8-sig"))))
    assert rows == [
        ["number", "name", "country"],
        ["1", "Hanako Sato", "Japan"],
        ["2", "Ayesha Khan", "United Kingdom"],
    ]
    assert "2 signatures" in (to_xi.content("text/plain") or "")
    drain(app)
    assert len([m for m in sendgrid.accepted if XI[2] in m.to]) == 1  # not again until due
    context.close()


def test_a_printed_letter_downloads_with_its_chinese_and_uyghur_address(
    browser: Any, live: tuple[LiveServer, FakeSendGrid, Flask], artifacts_dir: Path
) -> None:
    server, _sendgrid, _app = live
    context = browser.new_context(viewport={"width": 900, "height": 1200}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{server.url}/campaigns/{POSTAL}")
    page.wait_for_selector("h2:has-text('Write your letter')")
    page.fill("input[name=name]", "Amina Yusuf")
    page.select_option("select[name=country]", "CA")
    page.fill("textarea[name=personal_words]", WORDS)
    page.check("input[value=none]")
    page.screenshot(path=str(artifacts_dir / "printed-letter-form.png"), full_page=True)
    with page.expect_download() as download_info:
        page.click("text=Download my letter (PDF)")
    download = download_info.value
    pdf = Path(download.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for line in PRISON_ADDRESS.splitlines():
        assert line in text, line
    assert WORDS in text.replace("\n", " ")
    assert "Amina Yusuf" in text
    context.close()


def test_an_mp_digest_reaches_two_mps_with_only_their_constituents(
    browser: Any, live: tuple[LiveServer, FakeSendGrid, Flask]
) -> None:
    server, sendgrid, app = live
    context = browser.new_context(viewport={"width": 900, "height": 1200})
    page = context.new_page()
    page.set_default_timeout(15_000)
    signers = [
        {"name": "Ayesha Khan", "email": "ayesha@example.uk", "postcode": "SW1A 1AA", "share": "y"},
        {"name": "Oliver Reed", "email": "oliver@example.uk", "postcode": "SW1A 1AA"},
        {"name": "Grace Hall", "email": "grace@example.uk", "postcode": "GU11 1AA", "share": "y"},
        {"name": "Lars Berg", "email": "lars@example.se", "country": "SE", "share": "y"},
    ]
    for signer in signers:
        _sign(page, server, sendgrid, app, **{"country": "GB", **signer})
    with app.app_context():
        campaign = db.session.scalars(select(Campaign).where(Campaign.slug == PETITION)).one()
        campaign.digest_every_days = 7
        db.session.commit()
        mps = {
            code: db.session.get_one(MemberOfParliament, code)
            for code in ("E14001172", "E14001063")
        }
    drain(app)
    digests = {
        m.to[0]: m.content("text/plain") or "" for m in sendgrid.accepted_for("kind", "mp_digest")
    }
    westminster, aldershot = (mps["E14001172"].email, mps["E14001063"].email)
    assert set(digests) == {westminster, aldershot}
    assert "2 of your constituents in Cities of London and Westminster" in digests[westminster]
    assert "Ayesha Khan" in digests[westminster]
    assert "Oliver Reed" not in digests[westminster]
    assert "Grace Hall" not in digests[westminster]
    assert "1 of your constituents in Aldershot" in digests[aldershot]
    assert "Grace Hall" in digests[aldershot]
    assert "Ayesha Khan" not in digests[aldershot]
    assert all("Lars Berg" not in text for text in digests.values())
    context.close()
