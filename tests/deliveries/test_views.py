"""The delivery screens: targets, schedule and bundles, each behind its permission."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.kinds import bundles, pledge
from advocacy.models import AuditEvent, Campaign, DeliveryBundle, Target
from tests.kinds.conftest import PETITION, pdf_text, signed
from tests.workspace.conftest import form_token

PAGE = f"/workspace/deliveries/{PETITION}"


def test_an_editor_adds_a_target_and_sets_the_schedule(
    petition: Campaign, staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    editor = staff_client("editor")
    page = editor.get(PAGE)
    assert page.status_code == 200
    token = form_token(page.get_data(as_text=True))
    response = editor.post(
        f"{PAGE}/targets",
        data={
            "csrf_token": token,
            "name": "Embassy of the People's Republic of China, London",
            "role": "Ambassador",
            "email": "",
            "postal_address": "49-51 Portland Place\nLondon W1B 1JL",
            "country": "GB",
        },
    )
    assert response.status_code == 303
    target = session.scalars(select(Target).where(Target.name.startswith("Embassy"))).one()
    assert target.kind == "postal"
    response = editor.post(f"{PAGE}/schedule", data={"csrf_token": token, "every_days": "14"})
    assert response.status_code == 303
    session.expire_all()
    assert session.get_one(Campaign, petition.id).bundle_every_days == 14
    actions = set(session.scalars(select(AuditEvent.action)))
    assert {"target.added", "deliveries.scheduled"} <= actions


def test_a_target_needs_an_address_and_the_form_keeps_what_was_typed(
    petition: Campaign, staff_client: Callable[..., FlaskClient]
) -> None:
    editor = staff_client("editor")
    token = form_token(editor.get(PAGE).get_data(as_text=True))
    response = editor.post(
        f"{PAGE}/targets", data={"csrf_token": token, "name": "Nobody Reachable", "role": "X"}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "an email address, a postal address, or both" in page
    assert 'value="Nobody Reachable"' in page


def test_a_viewer_sees_the_page_but_cannot_change_it(
    petition: Campaign, staff_client: Callable[..., FlaskClient]
) -> None:
    viewer = staff_client("viewer")
    page = viewer.get(PAGE)
    assert page.status_code == 200
    assert "Add a target" not in page.get_data(as_text=True)
    token = form_token(viewer.get("/workspace/").get_data(as_text=True))
    assert viewer.post(f"{PAGE}/deliver", data={"csrf_token": token}).status_code == 403


def test_deliver_now_then_only_an_owner_downloads_the_bundle(
    petition: Campaign,
    staff_client: Callable[..., FlaskClient],
    client: FlaskClient,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed(client, session, settings, name="Nilufar Ahmed", email="n@example.se", country="SE")
    # Signatures settle for a minute before a bundle takes them.
    monkeypatch.setattr(bundles, "SETTLE", timedelta(0))
    owner = staff_client("owner")
    token = form_token(owner.get(PAGE).get_data(as_text=True))
    assert owner.post(f"{PAGE}/deliver", data={"csrf_token": token}).status_code == 303
    postal = session.scalars(select(DeliveryBundle).where(DeliveryBundle.state == "to_print")).one()
    pdf = owner.get(f"/workspace/deliveries/bundles/{postal.id}/pdf")
    assert pdf.status_code == 200
    assert pdf.headers["Cache-Control"] == "no-store"
    assert "Nilufar Ahmed" in pdf_text(pdf.get_data())
    editor = staff_client("editor")
    assert editor.get(f"/workspace/deliveries/bundles/{postal.id}/csv").status_code == 403


def test_an_editor_saves_a_pledges_demands_as_a_new_version(
    seeded: object, staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    campaign = Campaign(
        slug="pledge", kind="pledge", title="Pledge", summary="Pledge.", sender_name="Group"
    )
    session.add(campaign)
    session.commit()
    editor = staff_client("editor")
    page = editor.get("/workspace/deliveries/pledge")
    assert page.status_code == 200
    token = form_token(page.get_data(as_text=True))
    response = editor.post(
        "/workspace/deliveries/pledge/demands",
        data={"csrf_token": token, "demands": "Demand an inquiry.\n\nSanction officials.\n"},
    )
    assert response.status_code == 303
    assert pledge.current(session, campaign).demands == [
        "Demand an inquiry.",
        "Sanction officials.",
    ]  # type: ignore[union-attr]
    page = editor.get("/workspace/deliveries/pledge").get_data(as_text=True)
    assert "Version 1" in page
