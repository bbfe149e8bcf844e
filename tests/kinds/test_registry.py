"""The kind registry: every kind is one module behind one protocol."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import kinds
from advocacy.models import Campaign, CampaignKind
from tests.campaigns.conftest import CAMPAIGN


def test_get_refuses_a_kind_with_no_module() -> None:
    with pytest.raises(kinds.UnsupportedKind):
        kinds.get("carrier-pigeon")


def test_every_registered_kind_answers_the_protocol() -> None:
    for kind in kinds.all_kinds():
        assert kinds.get(kind.kind) is kind
        assert kind.label
        assert isinstance(kind.delivery, kinds.Delivery)
        assert kind.signer_fields
        assert all(isinstance(f, kinds.SignerField) for f in kind.signer_fields)


def test_mp_letter_goes_to_the_signers_own_mp(seeded: Flask, session: Session) -> None:
    campaign = session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
    kind = kinds.for_campaign(campaign)
    assert kind.kind == CampaignKind.MP_LETTER
    [mp] = kind.recipients(session, campaign, constituency_code="E14001063")
    assert mp.constituency_code == "E14001063"
    assert mp.name
    assert kind.recipients(session, campaign) == []


def test_mp_pages_refuse_a_campaign_whose_journey_is_elsewhere(
    seeded: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The MP look-up belongs to the MP letter journey; another kind's signers never reach it."""
    campaign = session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
    assert client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA").status_code == 200
    monkeypatch.setattr(kinds.for_campaign(campaign), "journey_endpoint", "campaigns.thanks")
    assert client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA").status_code == 404
    page = client.get(f"/campaigns/{CAMPAIGN}?partner=abc")
    assert page.status_code == 303
    assert page.headers["Location"].endswith(f"/campaigns/{CAMPAIGN}/thanks?partner=abc")
