"""What the journey leaves behind: limits that count the right things, no cached personal
pages, and no postcode or client address in any log line."""

from __future__ import annotations

import dataclasses
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Letter
from tests.campaigns.conftest import CAMPAIGN, csrf_token, preview_form, write_form
from tests.campaigns.test_journey import _confirm_link, _send
from tests.fakes.postcodes_io import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")

LOOKUP = f"/campaigns/{CAMPAIGN}/mp"


def limited(app: Flask, **limits: str) -> None:
    """Change the app's rate limits for this test."""
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"], **limits)


# Limits -------------------------------------------------------------------------------------


def test_api_mp_has_the_lookup_limit(client: FlaskClient, app: Flask) -> None:
    limited(app, rate_limit_lookup="2 per minute")
    statuses = [client.get("/api/mp?postcode=GU11+1AA").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/api/mp?postcode=GU11+1AA")
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert 0 < int(refused.headers["Retry-After"]) <= 60


def test_api_mp_and_the_lookup_page_share_one_limit(client: FlaskClient, app: Flask) -> None:
    limited(app, rate_limit_lookup="2 per minute")
    assert client.get(f"{LOOKUP}?postcode=GU11+1AA").status_code == 200
    assert client.get("/api/mp?postcode=GU11+1AA").status_code == 200
    assert client.get(f"{LOOKUP}?postcode=GU11+1AA").status_code == 429
    assert client.get("/api/mp?constituency=E14001063").status_code == 429


def test_refused_sends_do_not_count_against_the_send_limit(client: FlaskClient, app: Flask) -> None:
    limited(app, rate_limit_send="2 per hour")
    # A form sent back for correction, five times over, uses none of the limit.
    for _ in range(5):
        refused = client.post(f"/campaigns/{CAMPAIGN}/send", data=preview_form(client, name=""))
        assert refused.status_code == 422
    statuses = [
        _send(client, email=f"writer{i}@example.org").status_code  # type: ignore[attr-defined]
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]


def test_a_refused_duplicate_does_not_count_either(client: FlaskClient, app: Flask) -> None:
    limited(app, rate_limit_send="5 per hour")
    assert _send(client, email="first@example.org").status_code == 303  # type: ignore[attr-defined]
    # The per-email cap saves three letters awaiting confirmation, then refuses (409)...
    statuses = [
        _send(client, email="same@example.org").status_code  # type: ignore[attr-defined]
        for _ in range(5)
    ]
    assert statuses == [303, 303, 303, 409, 409]
    # ...and only what was saved counted: four of five, so one more letter may go.
    assert _send(client, email="next@example.org").status_code == 303  # type: ignore[attr-defined]
    assert _send(client, email="last@example.org").status_code == 429  # type: ignore[attr-defined]


def test_a_household_or_office_behind_one_address_can_all_write(
    client: FlaskClient, session: Session
) -> None:
    # Twelve people on one network address (the old default allowed ten an hour).
    statuses = {
        _send(client, email=f"colleague{i}@example.org").status_code  # type: ignore[attr-defined]
        for i in range(12)
    }
    assert statuses == {303}
    assert len(session.scalars(select(Letter)).all()) == 12


# Cache-Control ------------------------------------------------------------------------------


def test_pages_holding_personal_data_are_never_stored(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    form = write_form(client)
    pages = {
        "lookup": client.get(f"{LOOKUP}?postcode=GU11+1AA"),
        "write": client.get(
            f"/campaigns/{CAMPAIGN}/write?letter=general&constituency=E14001063&postcode=GU11+1AA"
        ),
        "preview": client.post(f"/campaigns/{CAMPAIGN}/preview", data=form),
        "preview refused": client.post(f"/campaigns/{CAMPAIGN}/preview", data={**form, "name": ""}),
        "send refused": client.post(f"/campaigns/{CAMPAIGN}/send", data={**form, "name": ""}),
        "words": client.post(f"/campaigns/{CAMPAIGN}/words", data={**form, "words_page": "write"}),
        "print": client.post(
            f"/campaigns/{CAMPAIGN}/print", data={**form, "subject": "S", "body": "Dear Alex"}
        ),
    }
    sent = _send(client)
    pages["check email"] = client.get(sent.headers["Location"])  # type: ignore[attr-defined]
    link = _confirm_link(app, session, session.scalars(select(Letter)).one())
    pages["confirm"] = landing = client.get(link)
    pages["confirm refused"] = client.post(link, data={"csrf_token": "forged"})
    pages["withdraw refused"] = client.post(f"{link}/withdraw", data={"csrf_token": "forged"})
    assert landing.status_code == 200
    stored = {name: r.headers.get("Cache-Control") for name, r in pages.items()}
    assert stored == dict.fromkeys(pages, "no-store")
    # Public pages stay cacheable as before.
    assert client.get(f"/campaigns/{CAMPAIGN}").headers.get("Cache-Control") != "no-store"


# Logs ---------------------------------------------------------------------------------------

CLIENT_ADDRESS = "198.51.100.23"


def test_no_log_line_of_the_journey_holds_a_postcode_or_the_client_address(
    client: FlaskClient,
    app: Flask,
    session: Session,
    postcodes_io: PostcodesIoFake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client.environ_base["REMOTE_ADDR"] = CLIENT_ADDRESS
    limited(app, rate_limit_lookup="1000 per minute")
    # Look-ups that fail in each way, then an outage that is retried and given up on.
    for postcode in ["GU11 1AA", "AB1 0AA", "ZZ99 9ZZ", "JE2 3AB", "BFPO 105", "not one"]:
        client.get(LOOKUP, query_string={"postcode": postcode})
        client.get("/api/mp", query_string={"postcode": postcode})
    postcodes_io.fail_always(status=500)
    assert client.get(LOOKUP, query_string={"postcode": "BS1 1DA"}).status_code == 503
    assert client.get("/api/mp", query_string={"postcode": "BS1 1DA"}).status_code == 503
    postcodes_io.clear_faults()
    # The rest of the journey, to the thank-you page.
    sent = _send(client)
    client.get(sent.headers["Location"])  # type: ignore[attr-defined]
    letter = session.scalars(select(Letter)).one()
    link = _confirm_link(app, session, letter)
    landing = client.get(link)
    confirmed = client.post(link, data={"csrf_token": csrf_token(landing.get_data(as_text=True))})
    client.get(confirmed.headers["Location"])
    # A limit refused, which is logged nowhere but must not name the address if it were.
    limited(app, rate_limit_lookup="1 per minute")
    client.get(LOOKUP, query_string={"postcode": "GU11 1AA"})
    client.get(LOOKUP, query_string={"postcode": "GU11 1AA"})

    lines = [record.getMessage() + " " + (record.exc_text or "") for record in caplog.records]
    assert any("postcodes.io" in line for line in lines), "the outage was not logged at all"
    logged = "\n".join(lines)
    fragments = ["GU11", "1AA", "AB1", "0AA", "ZZ99", "9ZZ", "JE2", "3AB", "BS1", "1DA", "105"]
    found = [f for f in fragments if re.search(rf"\b{f}\b", logged, re.IGNORECASE)]
    assert found == [], logged
    assert CLIENT_ADDRESS not in logged
    assert "127.0.0.1" not in logged
