"""The public privacy pages: the stated policy, the same answer for everyone, the signed link."""

from __future__ import annotations

import dataclasses
import json
import logging
import re

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import compose_notification
from advocacy.models import Campaign, Letter, LetterState, Notification, NotificationKind
from advocacy.models.staff import AuditEvent
from advocacy.privacy import services
from tests.campaigns.conftest import csrf_token
from tests.privacy.conftest import AYESHA, OTHER, add_person


def _privacy_links(session: Session) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.PRIVACY_LINK)
        )
    )


def _ask(client: FlaskClient, email: str) -> str:
    page = client.get("/privacy/my-data")
    answer = client.post(
        "/privacy/my-data",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "email": email},
    )
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    return answer.get_data(as_text=True)


def _emailed_link(app: Flask, session: Session) -> str:
    [note] = _privacy_links(session)
    email = compose_notification(note, app.config["SETTINGS"])
    assert email.to_email == AYESHA.email
    match = re.search(r"http://localhost(/privacy/my-data/view\?t=\S+)", email.text)
    assert match, email.text
    return match.group(1)


def test_footer_and_thanks_page_state_the_configured_policy(
    app: Flask, client: FlaskClient, settings: Settings, campaign: Campaign
) -> None:
    app.config["SETTINGS"] = dataclasses.replace(
        settings, letter_body_retention_days=14, personal_data_retention_days=180
    )
    for path in (f"/campaigns/{campaign.slug}", f"/campaigns/{campaign.slug}/thanks", "/privacy"):
        page = client.get(path).get_data(as_text=True)
        assert "14 days after it is delivered" in page, path
        assert "within 180 days" in page, path
        assert "only as long as it takes to deliver" not in page
    policy = client.get("/privacy").get_data(as_text=True)
    assert "are erased 14 days after it is delivered" in policy


def test_the_embedded_form_states_the_policy_too(app: Flask) -> None:
    with app.test_request_context("/embed/any"):
        page = render_template("error.html", embedded=True, status=404, message="Not here.")
    assert "embed-footer" in page
    assert "erase the words of your letter 28 days after it is delivered" in page
    assert "http://localhost/privacy" in page


def test_defaults_are_what_the_pages_say(client: FlaskClient, campaign: Campaign) -> None:
    page = client.get(f"/campaigns/{campaign.slug}/thanks").get_data(as_text=True)
    assert "28 days after it is delivered" in page
    assert "within 12 months" in page
    assert "when its link expires" in page


def test_the_answer_is_the_same_for_a_known_and_an_unknown_address(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    add_person(session, campaign, AYESHA)
    known = _ask(client, AYESHA.email)
    unknown = _ask(client, "nobody-here@example.org")
    strip = lambda page: re.sub(r'value="[^"]*"', "", page)  # noqa: E731 - the form token
    assert strip(known) == strip(unknown)
    # Only the known address is sent anything.
    [note] = _privacy_links(session)
    assert note.letter.sender_email == AYESHA.email


def test_one_link_per_address_in_ten_minutes(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    add_person(session, campaign, AYESHA)
    _ask(client, AYESHA.email)
    _ask(client, AYESHA.email.upper())
    assert len(_privacy_links(session)) == 1


def test_asking_is_rate_limited_per_address(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    page = client.get("/privacy/my-data").get_data(as_text=True)
    statuses = [
        client.post(
            "/privacy/my-data",
            data={"csrf_token": csrf_token(page), "email": f"p{i}@example.org"},
        ).status_code
        for i in range(6)
    ]
    assert statuses == [200] * 5 + [429]


def test_a_bad_address_is_explained_and_kept(client: FlaskClient) -> None:
    page = client.get("/privacy/my-data").get_data(as_text=True)
    answer = client.post(
        "/privacy/my-data", data={"csrf_token": csrf_token(page), "email": "not an address"}
    )
    assert answer.status_code == 422
    assert 'class="error-message"' in answer.get_data(as_text=True)
    assert 'value="not an address"' in answer.get_data(as_text=True)


def test_the_link_shows_downloads_and_erases_everything(
    app: Flask, client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    add_person(session, campaign, AYESHA)
    add_person(session, campaign, OTHER)
    _ask(client, AYESHA.email)
    link = _emailed_link(app, session)

    page = client.get(link)
    assert page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    assert AYESHA.name in text
    assert AYESHA.words in text
    assert OTHER.name not in text

    download = client.get(link.replace("/view?", "/export.json?"))
    assert download.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(download.get_data(as_text=True))
    assert data["data"]["letters"]["rows"][0]["postcode"] == AYESHA.postcode

    erase_url = link.replace("/view?", "/erase?")
    refused = client.post(erase_url, data={"csrf_token": csrf_token(text)})
    assert refused.status_code == 422
    assert "Please tick the box" in refused.get_data(as_text=True)
    assert services.held_counts(session, AYESHA.subject)["letters"] == 1

    erased = client.post(erase_url, data={"csrf_token": csrf_token(text), "confirm": "y"})
    assert erased.status_code == 200
    assert "Everything is erased" in erased.get_data(as_text=True)
    assert set(services.held_counts(session, AYESHA.subject).values()) == {0}
    assert "We hold nothing about this address" in client.get(link).get_data(as_text=True)
    session.expire_all()
    letters = session.scalars(select(Letter).order_by(Letter.id)).all()
    # A letter not yet sent is stopped; the other person's is untouched.
    assert letters[0].state == LetterState.FAILED
    assert letters[1].sender_name == OTHER.name


@pytest.mark.parametrize("token", ["", "forged", "x" * 40])
def test_a_bad_link_shows_nothing(client: FlaskClient, token: str) -> None:
    for path in ("/privacy/my-data/view", "/privacy/my-data/export.json"):
        answer = client.get(path, query_string={"t": token})
        assert answer.status_code == 404
        assert "does not work" in answer.get_data(as_text=True)


def test_cli_exports_and_erases_without_writing_the_address(
    app: Flask,
    session: Session,
    campaign: Campaign,
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_person(session, campaign, AYESHA)
    runner = app.test_cli_runner()
    caplog.set_level(logging.INFO)
    exported = runner.invoke(args=["privacy", "export", AYESHA.email])
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.output)["data"]["letters"]["rows"][0]["name"] == AYESHA.name
    refused = runner.invoke(args=["privacy", "erase", AYESHA.email], input="n\n")
    assert refused.exit_code != 0
    assert services.held_counts(session, AYESHA.subject)["letters"] == 1
    erased = runner.invoke(args=["privacy", "erase", AYESHA.email, "--yes"])
    assert erased.exit_code == 0, erased.output
    assert "Erased:" in erased.output
    assert set(services.held_counts(session, AYESHA.subject).values()) == {0}
    again = runner.invoke(args=["privacy", "erase", AYESHA.email, "--yes"])
    assert "Nothing is held" in again.output
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [e.action for e in events] == ["privacy.export", "privacy.erase"]
    assert events[1].details == {"via": "command line", "rows": events[1].details["rows"]}
    assert events[1].details["rows"] > 0
    recorded = " ".join(f"{e.action} {e.target} {e.details}" for e in events)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for needle in AYESHA.needles():
        assert needle not in logged
        assert needle not in recorded
