"""Nominations: relatives put a detained person forward; staff decide; contacts are erased."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Nomination, NominationState, Target
from tests.campaigns.conftest import csrf_token
from tests.kinds.test_postal import POSTAL, make_postal
from tests.workspace.conftest import form_token

NAME = "Gulshan Abbas گۈلشەن ئابباس"
FORM = {
    "detainee_name": NAME,
    "prison_address": "Xinjiang Women's Prison\nÜrümqi, China",
    "story": "A retired doctor, taken in 2018.",
    "nominator_name": "Ziba Murat",
    "nominator_email": "ziba@example.org",
}


def _nominate(client: FlaskClient, **fields: str) -> tuple[int, str]:
    page = client.get(f"/campaigns/{POSTAL}/nominate")
    assert page.status_code == 200
    assert "can also bring risk" in page.get_data(as_text=True)
    data = {"csrf_token": csrf_token(page.get_data(as_text=True)), **FORM, **fields}
    response = client.post(f"/campaigns/{POSTAL}/nominate", data=data)
    return response.status_code, response.get_data(as_text=True)


def test_a_nomination_needs_the_warning_read_and_keeps_what_was_typed(
    seeded: Flask, client: FlaskClient, session: Session
) -> None:
    make_postal(session)
    status, page = _nominate(client)
    assert status == 422
    assert "read the warning" in page
    assert "A retired doctor, taken in 2018." in page
    assert session.scalars(select(Nomination)).first() is None


def test_staff_decide_and_the_nominators_details_are_erased(
    seeded: Flask,
    client: FlaskClient,
    session: Session,
    staff_client: Callable[..., FlaskClient],
) -> None:
    make_postal(session)
    status, page = _nominate(client, understood="y")
    assert status == 200
    assert "we have your nomination" in page
    # Not public before a decision.
    assert NAME not in client.get(f"/campaigns/{POSTAL}/letter").get_data(as_text=True)
    assert (
        staff_client("viewer").get(f"/workspace/deliveries/{POSTAL}/nominations").status_code == 403
    )

    editor = staff_client("editor")
    queue = editor.get(f"/workspace/deliveries/{POSTAL}/nominations").get_data(as_text=True)
    assert "ziba@example.org" in queue
    nomination = session.scalars(select(Nomination)).one()
    response = editor.post(
        f"/workspace/deliveries/{POSTAL}/nominations/{nomination.id}",
        data={"csrf_token": form_token(queue), "decision": "private"},
    )
    assert response.status_code == 303
    session.expire_all()
    nomination = session.get_one(Nomination, nomination.id)
    assert nomination.state == NominationState.ACCEPTED
    assert (nomination.nominator_name, nomination.nominator_email) == ("", "")
    target = session.get_one(Target, nomination.target_id)
    assert target.is_public is False
    assert NAME not in client.get(f"/campaigns/{POSTAL}/letter").get_data(as_text=True)

    page = editor.get(f"/workspace/deliveries/{POSTAL}").get_data(as_text=True)
    response = editor.post(
        f"/workspace/deliveries/{POSTAL}/targets/{target.id}/visibility",
        data={"csrf_token": form_token(page), "public": "1"},
    )
    assert response.status_code == 303
    assert NAME in client.get(f"/campaigns/{POSTAL}/letter").get_data(as_text=True)
