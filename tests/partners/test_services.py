"""Partner details, consent wording versions, consent exports and public counts."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from advocacy.campaigns.services import get_campaign
from advocacy.models import Letter, Partner, Signature
from advocacy.partners import services
from advocacy.partners.services import PartnerDetails, PartnerError, parse_origins
from tests.partners.conftest import CAMPAIGN, HOST_ORIGIN, WORDING

pytestmark = pytest.mark.usefixtures("seeded")


def test_origins_are_normalised_and_anything_else_refused() -> None:
    assert parse_origins(" https://WWW.Example.org/ \n\nhttp://localhost:8000\n") == (
        "https://www.example.org",
        "http://localhost:8000",
    )
    with pytest.raises(PartnerError, match="not a web origin"):
        parse_origins("https://example.org/page")
    with pytest.raises(PartnerError, match="https://"):
        parse_origins("http://example.org")


def test_a_changed_wording_is_a_new_version_and_old_ones_stay(
    session: Session, partner: Partner
) -> None:
    details = PartnerDetails(slug=partner.slug, name=partner.name, consent_wording=WORDING)
    services.save_partner(session, details, partner)
    assert [w.version for w in partner.wordings] == [1], "same words, same version"
    services.save_partner(
        session,
        PartnerDetails(slug=partner.slug, name=partner.name, consent_wording="Email me news."),
        partner,
    )
    session.commit()
    assert [(w.version, w.text) for w in partner.wordings] == [(1, WORDING), (2, "Email me news.")]
    assert partner.current_wording is not None
    assert partner.current_wording.version == 2


def test_codes_colours_and_clashes_are_refused_with_a_reason(
    session: Session, partner: Partner
) -> None:
    with pytest.raises(PartnerError, match="lower-case"):
        services.save_partner(session, PartnerDetails(slug="Bad Code", name="x"))
    with pytest.raises(PartnerError, match="too light"):
        services.save_partner(session, PartnerDetails(slug="ok", name="x", accent_colour="#ffff00"))
    with pytest.raises(PartnerError, match="already uses"):
        services.save_partner(session, PartnerDetails(slug=partner.slug, name="Another"))


def _letter(session: Session, partner: Partner | None, email: str) -> Letter:
    campaign = get_campaign(session, CAMPAIGN)
    assert campaign is not None
    template = campaign.templates[0]
    letter = Letter(
        campaign_id=campaign.id,
        template_id=template.id,
        partner_id=partner.id if partner else None,
        email_digest=email,
        sender_name="A Person",
        sender_email=email,
        sender_address="1 Road",
        sender_postcode="GU11 1AA",
        personal_text="words",
        subject="s",
        body_text="b",
        recipient_name="MP",
    )
    session.add(letter)
    session.flush()
    return letter


def test_a_partner_exports_only_its_own_confirmed_consents(
    session: Session, partner: Partner
) -> None:
    other = services.save_partner(
        session, PartnerDetails(slug="student-society", name="Students", consent_wording="Yes")
    )
    mine = _letter(session, partner, "mine@example.org")
    theirs = _letter(session, other, "theirs@example.org")
    unconfirmed = _letter(session, partner, "later@example.org")
    assert other.current_wording is not None
    for letter, owner in ((mine, partner), (theirs, other), (unconfirmed, partner)):
        assert owner.current_wording is not None
        services.record_consent(
            session,
            partner=owner,
            wording_id=owner.current_wording.id,
            letter=letter,
            name="A Person",
            email=letter.sender_email,
        )
    # Another partner's wording id is not accepted for this partner.
    assert (
        services.record_consent(
            session,
            partner=partner,
            wording_id=other.current_wording.id,
            letter=mine,
            name="x",
            email="x@example.org",
        )
        is None
    )
    services.confirm_consents(session, mine.id)
    services.confirm_consents(session, theirs.id)
    session.commit()
    rows = list(services.iter_consents(session, partner.id))
    assert [(r.email, r.wording_version, r.wording) for r in rows] == [
        ("mine@example.org", 1, WORDING)
    ]


def test_public_counts_show_only_partners_that_chose_to(session: Session, partner: Partner) -> None:
    quiet = services.save_partner(session, PartnerDetails(slug="quiet", name="Quiet group"))
    campaign = get_campaign(session, CAMPAIGN)
    assert campaign is not None
    for i, owner in enumerate((partner, partner, quiet)):
        session.add(Signature(campaign_id=campaign.id, email_digest=f"d{i}", partner_id=owner.id))
    session.commit()
    assert services.public_partner_counts(session, campaign) == {partner.slug: 2}
    assert HOST_ORIGIN in partner.origins
