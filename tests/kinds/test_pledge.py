"""Pledges: numbered, versioned demands; signed once, counted per version, then a chain."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import kinds
from advocacy.config import Settings
from advocacy.delivery.mail import make_backend
from advocacy.kinds import pledge
from advocacy.models import Campaign, CampaignKind, LetterState, Signature, utcnow
from tests.campaigns.conftest import CAMPAIGN
from tests.kinds.conftest import latest_link, sign, signed

PLEDGE = "uk-pledge"
DEMANDS = [
    "Demand an independent United Nations investigation into the atrocities in Xinjiang.",
    "Sanction the officials responsible.",
    "Support a public boycott of goods made with forced labour.",
]


@pytest.fixture
def pledge_campaign(seeded: Flask, session: Session) -> Campaign:
    """A live pledge of three demands, chained to the MP letter campaign."""
    mp_campaign = session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
    campaign = Campaign(
        slug=PLEDGE,
        kind=CampaignKind.PLEDGE,
        title="Pledge to act",
        summary="Pledge to pressure the UK Government.",
        sender_name="Uyghur Solidarity",
        next_campaign_id=mp_campaign.id,
    )
    session.add(campaign)
    session.flush()
    pledge.set_demands(session, campaign, DEMANDS)
    session.commit()
    return campaign


def test_the_page_numbers_the_demands_in_order(
    pledge_campaign: Campaign, client: FlaskClient
) -> None:
    page = client.get(f"/campaigns/{PLEDGE}/sign").get_data(as_text=True)
    positions = [page.index(demand) for demand in DEMANDS]
    assert positions == sorted(positions)
    assert '<ol class="demands">' in page
    assert "I pledge to:" in page


def test_signing_counts_once_against_the_version_and_offers_the_mp_letter(
    pledge_campaign: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings, slug=PLEDGE)
    assert letter.state == LetterState.RECORDED
    signature = session.get_one(Signature, letter.signature_id)
    assert signature.pledge_version == 1
    thanks = client.get(f"/campaigns/{PLEDGE}/signed").get_data(as_text=True)
    assert "1 person has signed" in " ".join(re.sub(r"<[^>]+>", " ", thanks).split())
    assert f'href="/campaigns/{CAMPAIGN}"' in thanks
    # The form answers as for anyone; the second signature's own link refuses it.
    status, _ = sign(client, slug=PLEDGE)
    assert status == 303
    again = client.get(latest_link(session, settings)).get_data(as_text=True)
    assert "already signed" in again
    assert "Confirm my signature" not in again


def test_editing_the_demands_makes_a_new_version_and_keeps_the_old_counts(
    pledge_campaign: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    signed(client, session, settings, slug=PLEDGE, email="first@example.org")
    same = pledge.set_demands(session, pledge_campaign, [f"  {d} " for d in DEMANDS])
    assert same.version == 1
    edited = pledge.set_demands(session, pledge_campaign, [*DEMANDS, "Protect Uyghurs in the UK."])
    session.commit()
    assert edited.version == 2
    signed(client, session, settings, slug=PLEDGE, email="second@example.org")
    assert pledge.signatures_per_version(session, pledge_campaign) == [(1, 1), (2, 1)]
    assert "Protect Uyghurs in the UK." in client.get(f"/campaigns/{PLEDGE}/sign").get_data(
        as_text=True
    )


def test_a_pledge_needs_a_demand(pledge_campaign: Campaign, session: Session) -> None:
    with pytest.raises(pledge.PledgeError):
        pledge.set_demands(session, pledge_campaign, ["  ", ""])


def test_signers_details_are_erased_after_the_retention_period(
    pledge_campaign: Campaign, client: FlaskClient, session: Session, settings: Settings
) -> None:
    letter = signed(client, session, settings, slug=PLEDGE)
    kind = kinds.for_campaign(pledge_campaign)
    kind.deliver_due(settings, make_backend(settings), utcnow())
    session.refresh(letter)
    assert letter.sender_email
    later = utcnow() + timedelta(days=settings.personal_data_retention_days + 1)
    kind.deliver_due(settings, make_backend(settings), later)
    session.refresh(letter)
    assert (letter.sender_name, letter.sender_email) == ("", "")
    assert pledge.signatures_per_version(session, pledge_campaign) == [(1, 1)]
