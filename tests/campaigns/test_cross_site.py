"""Cross-site requests: Origin and Referer against BASE_URL, tokens bound to their form."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import security
from advocacy.models import Letter
from tests.campaigns.conftest import CAMPAIGN, page_form, preview_form, write_form

pytestmark = pytest.mark.usefixtures("seeded")

PREVIEW = f"/campaigns/{CAMPAIGN}/preview"
SEND = f"/campaigns/{CAMPAIGN}/send"
OURS = "http://localhost"  # the tests' BASE_URL
REFUSED = "This form must be submitted from our own site"


def _text(response: object) -> str:
    return str(response.get_data(as_text=True))  # type: ignore[attr-defined]


def test_a_forged_host_with_a_matching_origin_is_refused(client: FlaskClient) -> None:
    # The Host header is the client's to choose; BASE_URL is ours.
    response = client.post(
        PREVIEW,
        data=write_form(client),
        base_url="http://evil.example",
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 422
    assert REFUSED in _text(response)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": OURS}, 200),
        ({"Origin": "https://evil.example"}, 422),
        ({"Origin": "http://localhost:8080"}, 422),
        ({"Origin": "null"}, 422),  # a sandboxed frame or a no-referrer page elsewhere
        ({"Origin": "null", "Referer": f"{OURS}/campaigns/{CAMPAIGN}/write"}, 200),
        ({"Referer": f"{OURS}/campaigns/{CAMPAIGN}/write?x=1"}, 200),
        ({"Referer": "https://evil.example/campaigns/x"}, 422),
        ({"Referer": "http://localhost.evil.example/"}, 422),
        ({}, 200),  # no browser page sent it, so no page could have forged it
    ],
)
def test_origin_then_referer_are_compared_with_base_url(
    client: FlaskClient, headers: dict[str, str], status: int
) -> None:
    response = client.post(PREVIEW, data=write_form(client), headers=headers)
    assert response.status_code == status
    assert (REFUSED in _text(response)) is (status == 422)


def test_a_token_from_the_write_page_cannot_send(client: FlaskClient, session: Session) -> None:
    form = preview_form(client)
    form["csrf_token"] = write_form(client)["csrf_token"]
    response = client.post(SEND, data=form)
    assert response.status_code == 422
    assert "could not be verified" in _text(response)
    assert session.scalars(select(Letter)).first() is None


def test_an_expired_token_keeps_everything_typed_and_offers_a_fresh_one(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    form = write_form(client, personal_words="My uncle has been missing since 2017, please help.")
    later, later_monotonic = (
        t + security.CSRF_MAX_AGE + 60 for t in (time.time(), time.monotonic())
    )
    monkeypatch.setattr(time, "time", lambda: later)
    monkeypatch.setattr(time, "monotonic", lambda: later_monotonic)
    response = client.post(PREVIEW, data=form)
    assert response.status_code == 422
    page = _text(response)
    assert "This form was open for too long" in page
    assert "My uncle has been missing since 2017" in page
    fresh = page_form(page, "/preview")
    assert fresh["csrf_token"] != form["csrf_token"]
    again = client.post(PREVIEW, data={**form, "csrf_token": fresh["csrf_token"]})
    assert again.status_code == 200


def test_pages_ask_browsers_to_send_our_origin_with_our_forms(client: FlaskClient) -> None:
    # With "no-referrer", browsers post our forms with "Origin: null", which we now refuse.
    response = client.get(f"/campaigns/{CAMPAIGN}")
    assert response.headers["Referrer-Policy"] == "same-origin"
    # A <meta name="referrer"> would override the header for the page's own requests.
    assert '<meta name="referrer" content="same-origin">' in _text(response)
    assert "no-referrer" not in _text(response)
