"""GET /api/mp: the JSON answer, each error code, and the memory cache behind it."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.models import MemberOfParliament
from postcode_lookup import PostcodesIoClient
from tests.clock import FakeClock
from tests.directory.conftest import ALDERSHOT
from tests.fakes import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")


def test_api_mp_by_postcode_answers_constituency_and_mp(client: FlaskClient) -> None:
    response = client.get("/api/mp?postcode=gu11+1aa")
    assert response.status_code == 200
    assert response.get_json() == {
        "postcode": "GU11 1AA",
        "constituency": {"code": ALDERSHOT, "name": "Aldershot"},
        "mp": {"member_id": 5173, "name": "Alex Baker", "party": "Labour", "has_email": True},
        "vacant": False,
    }
    assert response.headers["Cache-Control"] == "private, max-age=300"


def test_api_mp_by_constituency_code(client: FlaskClient, postcodes_io: PostcodesIoFake) -> None:
    body = client.get(f"/api/mp?constituency={ALDERSHOT.lower()}").get_json()
    assert body["postcode"] is None
    assert body["constituency"]["code"] == ALDERSHOT
    assert body["mp"]["name"] == "Alex Baker"
    assert postcodes_io.request_count == 0


def test_api_mp_vacant_seat_has_no_mp(client: FlaskClient, session: Session) -> None:
    seat = session.get(MemberOfParliament, ALDERSHOT)
    assert seat is not None
    seat.member_id = seat.name_display = seat.party = seat.email = None
    session.commit()
    body = client.get("/api/mp?postcode=GU111AA").get_json()
    assert body["vacant"] is True
    assert body["mp"] is None


def test_api_mp_without_email_says_so(client: FlaskClient, session: Session) -> None:
    seat = session.get(MemberOfParliament, ALDERSHOT)
    assert seat is not None
    seat.email = None
    session.commit()
    assert client.get("/api/mp?postcode=GU111AA").get_json()["mp"]["has_email"] is False


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ("postcode=", 422, "invalid_postcode"),
        ("postcode=SW1A", 422, "invalid_postcode"),
        ("postcode=ZZ1+1ZZ", 404, "postcode_not_found"),
        ("postcode=AB1+0AA", 404, "postcode_terminated"),
        ("postcode=JE2+3AB", 404, "outside_parliament"),
        ("postcode=BFPO+123", 404, "bfpo_postcode"),
        ("postcode=FIQQ+1ZZ", 404, "overseas_postcode"),
        ("constituency=E14999999", 404, "constituency_not_found"),
        ("constituency=", 404, "constituency_not_found"),
        ("", 400, "bad_query"),
        ("postcode=GU111AA&constituency=E14001063", 400, "bad_query"),
    ],
)
def test_api_mp_errors_have_distinct_codes(
    client: FlaskClient, query: str, status: int, code: str
) -> None:
    response = client.get(f"/api/mp?{query}")
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    # Messages never echo the postcode back (they may end up in someone's logs).
    assert "ZZ1" not in error["message"]


def test_api_mp_terminated_message_names_the_month(client: FlaskClient) -> None:
    message = client.get("/api/mp?postcode=AB10AA").get_json()["error"]["message"]
    assert "June 1996" in message


def test_api_mp_outage_is_503_lookup_unavailable(
    client: FlaskClient, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.fail_always(status=503)
    response = client.get("/api/mp?postcode=GU111AA")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "lookup_unavailable"
    assert "Retry-After" not in response.headers


def test_api_mp_open_circuit_answers_503_with_retry_after_and_no_request(
    app: Flask, client: FlaskClient, postcodes_io: PostcodesIoFake, lookup_client: PostcodesIoClient
) -> None:
    app.extensions["postcodes_io_client"] = lookup_client
    postcodes_io.fail_always(status=500)
    for _ in range(3):
        assert client.get("/api/mp?postcode=GU111AA").status_code == 503
    postcodes_io.clear_requests()
    response = client.get("/api/mp?postcode=BS11DA")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"
    assert postcodes_io.request_count == 0


def test_api_mp_circuit_closes_after_cool_down(
    app: Flask,
    client: FlaskClient,
    postcodes_io: PostcodesIoFake,
    lookup_client: PostcodesIoClient,
    clock: FakeClock,
) -> None:
    app.extensions["postcodes_io_client"] = lookup_client
    postcodes_io.fail_always(status=500)
    for _ in range(3):
        client.get("/api/mp?postcode=GU111AA")
    postcodes_io.clear_faults()
    assert client.get("/api/mp?postcode=GU111AA").status_code == 503
    clock.advance(30)
    assert client.get("/api/mp?postcode=GU111AA").status_code == 200
    assert client.get("/api/mp?postcode=BS11DA").status_code == 200


def test_api_mp_constituency_missing_from_directory_is_503(
    client: FlaskClient, session: Session
) -> None:
    session.delete(session.get(MemberOfParliament, ALDERSHOT))
    session.commit()
    response = client.get("/api/mp?postcode=GU111AA")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "lookup_unavailable"


def test_api_mp_hot_postcode_is_answered_from_memory(
    client: FlaskClient, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    client.get("/api/mp?postcode=GU111AA")
    # Even with postcodes.io down and the database row gone, the hot answer is served.
    postcodes_io.fail_always(status=500)
    session.delete(session.get(MemberOfParliament, ALDERSHOT))
    session.commit()
    assert client.get("/api/mp?postcode=GU11+1AA").status_code == 200
    assert postcodes_io.request_count == 1


def test_api_mp_unknown_route_answers_json(client: FlaskClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
