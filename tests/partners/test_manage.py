"""Partners in the workspace: owners manage them; a partner sees only its own consents."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns.services import get_campaign
from advocacy.models import AuditEvent, Letter, Partner
from advocacy.partners import services
from advocacy.partners.services import PartnerDetails
from tests.partners.conftest import CAMPAIGN, HOST_ORIGIN, WORDING
from tests.workspace.conftest import (
    _cheap_password_hashes,
    form_token,
    log_in,
    make_staff,
    staff_client,
)

__all__ = ["_cheap_password_hashes", "make_staff", "staff_client"]

pytestmark = pytest.mark.usefixtures("seeded")

FORM = {
    "name": "Leeds Uyghur Society",
    "slug": "leeds-uyghur-society",
    "website": "https://leeds-uyghurs.example",
    "allowed_origins": "https://leeds-uyghurs.example\nhttps://www.leeds-uyghurs.example/",
    "contact_email": "hello@leeds-uyghurs.example",
    "accent_colour": "#1d4d8c",
    "consent_wording": "Email me about the society's events.",
    "is_figures_public": "y",
    "is_active": "y",
}


def _consent(session: Session, partner: Partner, email: str) -> None:
    """A confirmed consent given to `partner`, with a letter of its own."""
    campaign = get_campaign(session, CAMPAIGN)
    assert campaign is not None
    letter = Letter(
        campaign_id=campaign.id,
        template_id=campaign.templates[0].id,
        partner_id=partner.id,
        email_digest=email,
        sender_name="Someone",
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
    assert partner.current_wording is not None
    services.record_consent(
        session,
        partner=partner,
        wording_id=partner.current_wording.id,
        letter=letter,
        name="Someone",
        email=email,
    )
    services.confirm_consents(session, letter.id)
    session.commit()


def test_an_owner_adds_a_partner_and_gets_its_snippets(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    owner = staff_client("owner")
    page = owner.get("/workspace/partners/new")
    assert page.status_code == 200
    saved = owner.post(
        "/workspace/partners/new",
        data={**FORM, "csrf_token": form_token(page.get_data(as_text=True))},
    )
    assert saved.status_code == 303
    partner = session.scalars(select(Partner).where(Partner.slug == FORM["slug"])).one()
    assert partner.origins == ("https://leeds-uyghurs.example", "https://www.leeds-uyghurs.example")
    assert partner.current_wording is not None
    assert partner.current_wording.version == 1

    snippets = owner.get(saved.headers["Location"]).get_data(as_text=True)
    assert f'data-campaign="{CAMPAIGN}" data-partner="{FORM["slug"]}" async' in snippets
    assert "&lt;noscript&gt;" in snippets
    assert f"/embed/{CAMPAIGN}?partner={FORM['slug']}" in snippets
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action == "partner.created")).one()
    assert audit.target == f"partner:{FORM['slug']}"


def test_bad_details_are_refused_with_a_reason_and_nothing_is_lost(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    owner = staff_client("owner")
    token = form_token(owner.get("/workspace/partners/new").get_data(as_text=True))
    refused = owner.post(
        "/workspace/partners/new",
        data={**FORM, "allowed_origins": "leeds-uyghurs.example/embed", "csrf_token": token},
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "is not a web origin" in body
    assert "Email me about the society&#39;s events." in body, "what was typed comes back"
    assert session.scalars(select(Partner)).all() == []


@pytest.mark.parametrize("role", ["editor", "viewer", "partner"])
def test_only_owners_manage_partners(
    staff_client: Callable[..., FlaskClient], partner: Partner, role: str
) -> None:
    client = staff_client(role)
    for path in (
        "/workspace/partners",
        "/workspace/partners/new",
        f"/workspace/partners/{partner.id}",
        f"/workspace/partners/{partner.id}/edit",
        f"/workspace/partners/{partner.id}/consents.csv",
    ):
        assert client.get(path).status_code == 403, path


def test_a_partner_exports_only_its_own_consents_whatever_the_url(
    app: object,
    session: Session,
    partner: Partner,
    make_staff: Callable[..., object],
) -> None:
    other = services.save_partner(
        session, PartnerDetails(slug="students", name="Students", consent_wording="Yes please")
    )
    session.commit()
    _consent(session, partner, "mine@example.org")
    _consent(session, other, "theirs@example.org")
    user = make_staff("partner")
    user.partner_id = partner.id  # type: ignore[attr-defined]
    session.commit()
    client = log_in(app.test_client(), session, user)  # type: ignore[attr-defined]

    page = client.get("/workspace/partner/consents")
    assert "1 person has ticked your box" in page.get_data(as_text=True)
    csv = client.get("/workspace/partner/consents.csv").get_data(as_text=True)
    assert "mine@example.org" in csv
    assert WORDING in csv
    assert "theirs@example.org" not in csv
    # Nothing in the URL chooses the partner; the owners' route is closed to them.
    assert client.get(f"/workspace/partners/{other.id}/consents.csv").status_code == 403
    assert "theirs" not in client.get(
        f"/workspace/partner/consents.csv?partner_id={other.id}"
    ).get_data(as_text=True)
    assert session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.partner_consents")
    ).all()


def test_the_embed_preview_in_the_workspace_may_frame_the_form(
    staff_client: Callable[..., FlaskClient], partner: Partner
) -> None:
    owner = staff_client("owner")
    page = owner.get(f"/workspace/partners/{partner.id}").get_data(as_text=True)
    assert f'src="/embed/{CAMPAIGN}?partner={partner.slug}"' in page
    entry = owner.get(f"/embed/{CAMPAIGN}?partner={partner.slug}")
    framed = owner.get(entry.headers["Location"])
    assert f"frame-ancestors 'self' {HOST_ORIGIN}" in framed.headers["Content-Security-Policy"]
