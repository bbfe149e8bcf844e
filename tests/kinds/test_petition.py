"""Petitions to fixed officials: signers from anywhere, bundles by email and for print."""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import kinds
from advocacy.campaigns import services as journey
from advocacy.config import Settings
from advocacy.delivery.events import apply_events
from advocacy.delivery.mail import make_backend
from advocacy.extensions import db
from advocacy.kinds import bundles
from advocacy.models import (
    BundleState,
    Campaign,
    DeliveryBundle,
    Letter,
    LetterState,
    Signature,
    utcnow,
)
from tests.campaigns.conftest import after_reading, csrf_token
from tests.fakes.sendgrid import FakeSendGrid
from tests.kinds.conftest import ERKIN, MA, PETITION, XI, latest_link, pdf_text, sign, signed


def _deliver(session: Session, campaign: Campaign, settings: Settings) -> list[DeliveryBundle]:
    """Make bundles as the schedule would a while later, and send the email ones."""
    later = utcnow() + bundles.SETTLE + timedelta(seconds=1)
    made = bundles.make_bundles(session, session.merge(campaign), later)
    session.commit()
    bundles.send_due(settings, make_backend(settings), later)
    session.expire_all()
    return made


def test_campaign_page_leads_to_the_signing_form(petition: Campaign, client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{PETITION}?partner=p1")
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/campaigns/{PETITION}/sign?partner=p1")
    page = client.get(f"/campaigns/{PETITION}/sign").get_data(as_text=True)
    assert "Immediately release all those arbitrarily detained" in page
    assert XI[0] in page
    # The MP journey is not this campaign's.
    assert client.get(f"/campaigns/{PETITION}/mp?postcode=GU11+1AA").status_code == 404


def test_a_signer_from_abroad_signs_once_after_confirming(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings, comment="Libérez-les.")
    assert letter.state == LetterState.RECORDED
    assert letter.country_code == "FR"
    assert letter.personal_text == "Libérez-les."
    signature = session.get(Signature, letter.signature_id)
    assert signature is not None
    assert signature.country_code == "FR"
    assert signature.constituency_code is None
    # Never queued for sending on its own.
    assert letter.next_attempt_at is None
    # The form answers as for anyone; the second signature's own link refuses it.
    status, _ = sign(client)
    assert status == 303
    link = latest_link(session, settings)
    again = client.get(link).get_data(as_text=True)
    assert "already signed" in again
    assert "Confirm my signature" not in again
    # Refused and erased at once; its link keeps saying why.
    session.expire_all()
    second = session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    assert second is not None
    assert second.id != letter.id
    assert (second.sender_name, second.sender_email, second.email_digest) == ("", "", "")
    assert "already signed" in client.get(link).get_data(as_text=True)
    assert len(session.scalars(select(Signature)).all()) == 1


def test_a_uk_signers_postcode_counts_their_constituency(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings, country="GB", postcode="gu11 1aa", email="a@b.uk")
    assert letter.constituency_code == "E14001063"
    assert letter.sender_postcode == "GU11 1AA"


def test_a_postcode_outside_the_uk_is_refused_with_a_reason(
    petition: Campaign, client: FlaskClient, session: Session
) -> None:
    status, page = sign(client, country="US", postcode="GU11 1AA")
    assert status == 422
    assert "only needed if you live in the United Kingdom" in page
    assert 'value="Marie Dupont"' in page
    assert session.scalars(select(Letter)).first() is None


def test_an_unknown_country_is_refused(petition: Campaign, client: FlaskClient) -> None:
    status, page = sign(client, country="XX")
    assert status == 422
    assert "Not a valid choice" in page or "choose the country" in page


def test_bundles_carry_names_countries_and_counts_then_only_new_ones(
    petition: Campaign,
    client: FlaskClient,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    signed(client, session, settings, name="Marie Dupont", email="m@example.fr", country="FR")
    signed(
        client,
        session,
        settings,
        name="Ayesha Khan",
        email="a@example.uk",
        country="GB",
        postcode="GU11 1AA",
    )
    signed(client, session, settings, name="王小明", email="w@example.tw", country="TW")
    made = _deliver(session, petition, settings)
    assert sorted(b.state for b in made) == ["sent", "sent", "to_print"]
    [to_xi] = fake_sendgrid.accepted_for("kind", "bundle")[:1]
    assert len(fake_sendgrid.accepted_for("kind", "bundle")) == 2
    files = to_xi.attachments()
    [pdf_name] = [n for n in files if n.endswith(".pdf")]
    [csv_name] = [n for n in files if n.endswith(".csv")]
    text = pdf_text(files[pdf_name])
    for expected in (
        "Marie Dupont",
        "Ayesha Khan",
        "王小明",
        "France",
        "Taiwan",
        "Aldershot",
        "3 signatures",
        "Immediately release all those arbitrarily detained",
    ):
        assert expected in text, expected
    assert "m@example.fr" not in text
    rows = list(csv.reader(io.StringIO(files[csv_name].decode("utf-8-sig"))))
    assert rows == [
        ["number", "name", "country"],
        ["1", "Marie Dupont", "France"],
        ["2", "Ayesha Khan", "United Kingdom"],
        ["3", "王小明", "Taiwan"],
    ]
    sent = session.scalars(select(DeliveryBundle).where(DeliveryBundle.state == "sent")).all()
    assert {b.target_name for b in sent} == {XI[0], MA[0]}
    assert all(b.message_id and b.signature_count == 3 for b in sent)

    # A later bundle carries only the new signature and says how many came before.
    fake_sendgrid.clear_accepted()
    signed(client, session, settings, name="John Smith", email="j@example.us", country="US")
    later = _deliver(session, petition, settings)
    assert [(b.signature_count, b.previous_count) for b in later] == [(1, 3)] * 3
    message = fake_sendgrid.accepted_for("kind", "bundle")[0]
    rows = list(
        csv.reader(
            io.StringIO(
                next(v for k, v in message.attachments().items() if k.endswith(".csv")).decode(
                    "utf-8-sig"
                )
            )
        )
    )
    assert rows[1:] == [["4", "John Smith", "United States"]]
    assert "3 delivered to you before" in (message.content("text/plain") or "")
    # Nothing new: nothing made.
    assert _deliver(session, petition, settings) == []


def test_a_postal_targets_bundle_renders_its_chinese_and_uyghur_name(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    signed(client, session, settings, name="Gulnar Tursun", email="g@example.de", country="DE")
    made = _deliver(session, petition, settings)
    [postal] = [b for b in made if b.state == BundleState.TO_PRINT]
    files = bundles.build_files(session, session.merge(postal))
    text = pdf_text(files.pdf)
    assert ERKIN[0].split(" ", 2)[2] in text  # the Uyghur name, as written
    assert "Gulnar Tursun" in text
    assert "Germany" in text


def test_the_webhook_follows_a_bundles_delivery(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    signed(client, session, settings)
    made = _deliver(session, petition, settings)
    bundle = next(b for b in made if b.state != BundleState.TO_PRINT)
    session.refresh(bundle)
    event = {
        "sg_event_id": "evt-bundle-1",
        "event": "delivered",
        "timestamp": int(utcnow().timestamp()),
        bundles.BUNDLE_KEY_ARG: bundle.idempotency_key,
    }
    report = apply_events([event, event])
    assert (report.applied, report.duplicate) == (1, 1)
    session.refresh(bundle)
    assert bundle.state == BundleState.DELIVERED


def test_the_schedule_delivers_through_the_worker_and_only_when_due(
    petition: Campaign,
    client: FlaskClient,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    signed(client, session, settings)
    kind = kinds.for_campaign(petition)
    later = utcnow() + timedelta(minutes=5)
    # No schedule: only on demand.
    assert kind.deliver_due(settings, make_backend(settings), later) == 0
    campaign = session.get_one(Campaign, petition.id)
    campaign.bundle_every_days = 7
    session.commit()
    assert kind.deliver_due(settings, make_backend(settings), later) == 2
    assert kind.deliver_due(settings, make_backend(settings), later + timedelta(days=1)) == 0
    assert len(fake_sendgrid.accepted_for("kind", "bundle")) == 2


def test_signers_details_are_erased_once_every_target_has_them(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings)
    _deliver(session, petition, settings)
    campaign = session.get_one(Campaign, petition.id)
    too_soon = bundles.purge_delivered(session, campaign, 30, utcnow())
    assert too_soon == 0
    purged = bundles.purge_delivered(session, campaign, 30, utcnow() + timedelta(days=31))
    session.commit()
    assert purged == 1
    session.refresh(letter)
    assert (letter.sender_name, letter.sender_email) == ("", "")
    assert session.get(Signature, letter.signature_id) is not None


def test_pages_work_from_the_shared_cached_campaign(
    petition: Campaign, app: Flask, client: FlaskClient, session: Session, settings: Settings
) -> None:
    """In production the journey reads a detached, cached campaign: targets are queried."""
    app.config["SETTINGS"] = dataclasses.replace(settings, campaign_cache_seconds=60)
    for _ in range(2):
        page = client.get(f"/campaigns/{PETITION}/sign")
        assert page.status_code == 200
        assert XI[0] in page.get_data(as_text=True)
    status, _page = sign(client)
    assert status == 303


def _withdraw_token(page: str) -> str:
    """The form token of the confirm page's "Don't count my signature" form."""
    block = page.split("/withdraw", 1)[1]
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', block)
    assert match, page
    return match.group(1)


def test_a_signer_can_stop_their_signature_and_it_is_erased_at_once(
    petition: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    status, _ = sign(client, comment="Libérez-les.")
    assert status == 303
    link = latest_link(session, settings)
    page = client.get(link)
    assert page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    assert "Don't count my signature" in html
    # Without its own form token, nothing happens.
    refused = client.post(f"{link}/withdraw", data={"csrf_token": "forged"})
    assert refused.status_code == 400
    session.expire_all()
    letter = session.scalars(select(Letter)).one()
    assert letter.state == LetterState.AWAITING_CONFIRMATION
    done = client.post(f"{link}/withdraw", data={"csrf_token": _withdraw_token(html)})
    assert done.status_code == 200
    assert "Your signature will not be counted" in done.get_data(as_text=True)
    assert done.headers["Cache-Control"] == "no-store"
    session.expire_all()
    letter = session.scalars(select(Letter)).one()
    assert letter.state == LetterState.EXPIRED
    assert (letter.sender_name, letter.sender_email, letter.personal_text) == ("", "", "")
    assert letter.email_digest == ""
    assert session.scalars(select(Signature)).all() == []
    # The link, opened again, says so and offers no button; confirming counts nothing.
    again = client.get(link)
    assert again.status_code == 410
    assert "will not be counted" in again.get_data(as_text=True)
    assert "Confirm my signature" not in again.get_data(as_text=True)
    assert client.post(link, data={"csrf_token": "x"}).status_code == 410
    assert session.scalars(select(Signature)).all() == []


def test_the_signing_form_is_never_stored(petition: Campaign, client: FlaskClient) -> None:
    assert client.get(f"/campaigns/{PETITION}/sign").headers["Cache-Control"] == "no-store"


def _lose_the_race(
    client: FlaskClient,
    monkeypatch: pytest.MonkeyPatch,
    link: str,
    action: str,
    token: str,
    act: Callable[[Session, Letter], object],
) -> None:
    """Post `token` to `link` + `action`; another request does `act` as this one reads.

    Either way the losing request goes back to the link, whose page says what happened.
    """
    with Session(db.engine) as other:
        after_reading(monkeypatch, other, act)
        late = client.post(f"{link}{action}", data={"csrf_token": token})
    assert late.status_code == 303
    assert late.headers["Location"] == link


def test_confirming_as_the_signature_is_withdrawn_counts_nothing(
    petition: Campaign,
    client: FlaskClient,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sign(client)[0] == 303
    link = latest_link(session, settings)
    token = csrf_token(client.get(link).get_data(as_text=True))
    _lose_the_race(
        client,
        monkeypatch,
        link,
        "",
        token,
        lambda other, signature: journey.withdraw(other, signature, journey.WITHDRAWN_REASON),
    )
    assert "will not be counted" in client.get(link).get_data(as_text=True)
    assert session.scalars(select(Signature)).all() == []


def test_withdrawing_as_the_signature_is_confirmed_keeps_it_counted(
    petition: Campaign,
    client: FlaskClient,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert sign(client)[0] == 303
    link = latest_link(session, settings)
    token = _withdraw_token(client.get(link).get_data(as_text=True))
    _lose_the_race(
        client,
        monkeypatch,
        link,
        "/withdraw",
        token,
        lambda other, signature: journey.confirm(other, signature, settings),
    )
    session.expire_all()
    letter = session.scalars(select(Letter)).one()
    assert letter.state != LetterState.EXPIRED
    assert letter.sender_name == "Marie Dupont"
    assert len(session.scalars(select(Signature)).all()) == 1
