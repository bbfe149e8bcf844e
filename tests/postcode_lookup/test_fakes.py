"""The fakes reproduce the recorded contracts byte for byte, and their fault hooks work."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from tests.fakes import (
    CONTRACTS_DIR,
    POSTCODES_IO_ERRORS,
    FakeServer,
    MembersApiFake,
    PostcodesIoFake,
    RecordedRequest,
    Reply,
    load_contract,
)

PIO = "postcodes-io"
MAPI = "members-api"


def contract_bytes(service: str, name: str) -> bytes:
    """A contract file's JSON as the live server writes it: compact, keys in file order."""
    payload = json.loads((CONTRACTS_DIR / service / name).read_text(encoding="utf-8"))
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@pytest.fixture
def web() -> Iterator[requests.Session]:
    """A plain session for talking to the fakes directly."""
    with requests.Session() as session:
        yield session


# postcodes.io


@pytest.mark.parametrize(
    ("method", "path", "contract", "status"),
    [
        ("GET", "/postcodes/not-a-postcode", "error_invalid_postcode.json", 404),
        ("GET", "/postcodes/ZZ11ZZ", "recorded/error_404_ZZ1_1ZZ.json", 404),
        ("GET", "/postcodes/zz1%201zz", "error_postcode_not_found.json", 404),
        ("GET", "/postcodes", "error_postcode_query_required.json", 400),
        ("GET", "/terminated_postcodes/AB10AA", "error_terminated_postcode_not_found.json", 404),
        ("GET", "/terminated_postcodes/nonsense", "error_invalid_postcode.json", 404),
        ("GET", "/no/such/path", "error_resource_not_found.json", 404),
        ("DELETE", "/postcodes/SW1A1AA", "error_resource_not_found.json", 404),
    ],
)
def test_postcodes_io_fake_errors_match_the_contract_exactly(
    postcodes_fake: PostcodesIoFake,
    web: requests.Session,
    method: str,
    path: str,
    contract: str,
    status: int,
) -> None:
    response = web.request(method, postcodes_fake.url + path)
    assert response.status_code == status
    assert response.content == contract_bytes(PIO, contract)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"


def test_postcodes_io_fake_recorded_lookup_is_byte_identical(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_recorded_postcodes()
    for typed, name in [("sw1a1aa", "lookup_SW1A_1AA"), ("Bs1 1dA", "lookup_BS1_1DA")]:
        response = web.get(f"{postcodes_fake.url}/postcodes/{typed}")
        recorded = (CONTRACTS_DIR / PIO / "recorded" / f"{name}.json").read_bytes()
        assert response.content == recorded.rstrip(b"\n")


def test_postcodes_io_fake_add_postcode_follows_the_template(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_postcode("ex16 5bl", constituency_code="E14001548", region="South West")
    body = web.get(postcodes_fake.url + "/postcodes/EX165BL").json()
    template = load_contract(PIO, "lookup_BR8_7RE.json")
    assert list(body) == ["status", "result"]
    result = body["result"]
    assert list(result) == list(template["result"])
    assert list(result["codes"]) == list(template["result"]["codes"])
    assert (result["postcode"], result["outcode"], result["incode"]) == ("EX16 5BL", "EX16", "5BL")
    assert result["parliamentary_constituency"] == "Tiverton and Minehead"
    assert result["parliamentary_constituency_2024"] == "Tiverton and Minehead"
    assert result["codes"]["parliamentary_constituency"] == "E14001548"
    assert result["codes"]["parliamentary_constituency_2024"] == "E14001548"
    assert result["region"] == "South West"


def test_postcodes_io_fake_add_postcode_rejects_unknown_fields(
    postcodes_fake: PostcodesIoFake,
) -> None:
    with pytest.raises(TypeError, match=r"not postcodes\.io result fields"):
        postcodes_fake.add_postcode("SW1A 1AA", constituency_code="E14001172", colour="red")


def test_postcodes_io_fake_terminated_lookup_matches_the_contract(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_terminated(
        "AB1 0AA",
        year_terminated=1996,
        month_terminated=6,
        longitude=-2.242851,
        latitude=57.101474,
    )
    response = web.get(postcodes_fake.url + "/postcodes/ab10aa")
    assert response.status_code == 404
    assert response.content == contract_bytes(
        PIO, "error_postcode_not_found_terminated_AB1_0AA.json"
    )
    terminated = web.get(postcodes_fake.url + "/terminated_postcodes/AB1%200AA")
    assert terminated.status_code == 200
    assert (
        terminated.json()["result"]
        == load_contract(PIO, "error_postcode_not_found_terminated_AB1_0AA.json")["terminated"]
    )


def test_postcodes_io_fake_bulk_reproduces_the_documented_answers(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    documented = load_contract(PIO, "bulk_lookup_PR3_0SG_M45_6GN_EX16_5BL.json")
    for entry in documented["result"]:
        postcodes_fake.add_result(entry["result"])
    request = load_contract(PIO, "bulk_lookup_request.json")
    url = postcodes_fake.url + "/postcodes"
    full = web.post(url, json=request)
    assert full.content == contract_bytes(PIO, "bulk_lookup_PR3_0SG_M45_6GN_EX16_5BL.json")
    filtered = web.post(url, params={"filter": "postcode,longitude,latitude"}, json=request)
    assert filtered.content == contract_bytes(PIO, "bulk_lookup_filtered.json")


def test_postcodes_io_fake_bulk_nulls_unknowns_and_drops_non_strings(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_postcode("SW1A 1AA", constituency_code="E14001172")
    body = web.post(
        postcodes_fake.url + "/postcodes",
        json={"postcodes": ["sw1a 1aa", 42, None, "ZZ1 1ZZ", "nonsense", {"a": 1}]},
    ).json()
    assert body["status"] == 200
    assert [(e["query"], e["result"] and e["result"]["postcode"]) for e in body["result"]] == [
        ("sw1a 1aa", "SW1A 1AA"),
        ("ZZ1 1ZZ", None),
        ("nonsense", None),
    ]


@pytest.mark.parametrize(
    ("body", "headers", "contract"),
    [
        (json.dumps({"postcodes": ["SW1A 1AA"] * 101}), None, "error_bulk_too_many_postcodes.json"),
        (json.dumps({"postcodes": "SW1A 1AA"}), None, "error_bulk_json_array_required.json"),
        (json.dumps({"geolocations": [{}] * 101}), None, "error_bulk_too_many_geolocations.json"),
        (json.dumps({"something": []}), None, "error_bulk_invalid_json_query.json"),
        (json.dumps({"postcodes": None}), None, "error_bulk_invalid_json_query.json"),
        (json.dumps(["SW1A 1AA"]), None, "error_bulk_invalid_json_query.json"),
        ("{not json", None, "error_invalid_json.json"),
        ('"a string"', None, "error_invalid_json.json"),
        ('{"postcodes": ["SW1A 1AA"]}', {"Content-Type": "text/plain"}, None),
    ],
)
def test_postcodes_io_fake_bulk_rejections_match_the_contract(
    postcodes_fake: PostcodesIoFake,
    web: requests.Session,
    body: str,
    headers: dict[str, str] | None,
    contract: str | None,
) -> None:
    response = web.post(
        postcodes_fake.url + "/postcodes",
        data=body.encode(),
        headers=headers or {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    # Without a JSON content type body-parser leaves the body empty: no postcodes key.
    expected = contract or "error_bulk_invalid_json_query.json"
    assert response.content == contract_bytes(PIO, expected)


def test_postcodes_io_fake_bulk_of_exactly_100_is_accepted(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    response = web.post(postcodes_fake.url + "/postcodes", json={"postcodes": ["X"] * 100})
    assert response.status_code == 200
    assert len(response.json()["result"]) == 100
    assert web.post(postcodes_fake.url + "/postcodes", json={"postcodes": []}).json() == {
        "status": 200,
        "result": [],
    }


def test_postcodes_io_fake_forced_500_is_the_default_message(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.fail_next()
    response = web.get(postcodes_fake.url + "/postcodes/SW1A1AA")
    assert response.status_code == 500
    assert response.content == contract_bytes(PIO, "error_server_500.json")
    assert POSTCODES_IO_ERRORS["server_500"].startswith("500 Server Error.\n")


def test_postcodes_io_fake_validate_and_search(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_postcode("SW1A 1AA", constituency_code="E14001172")
    url = postcodes_fake.url
    assert web.get(url + "/postcodes/sw1a1aa/validate").json() == {"status": 200, "result": True}
    assert web.get(url + "/postcodes/ZZ11ZZ/validate").json() == {"status": 200, "result": False}
    found = web.get(url + "/postcodes", params={"q": "SW1A"}).json()
    assert [r["postcode"] for r in found["result"]] == ["SW1A 1AA"]
    assert web.get(url + "/postcodes", params={"q": "ZZ"}).json() == {"status": 200, "result": None}


def test_postcodes_io_fake_remove_postcode(
    postcodes_fake: PostcodesIoFake, web: requests.Session
) -> None:
    postcodes_fake.add_postcode("SW1A 1AA", constituency_code="E14001172")
    assert postcodes_fake.result_for("sw1a1aa") is not None
    postcodes_fake.remove_postcode("SW1A 1AA")
    assert postcodes_fake.result_for("SW1A 1AA") is None
    assert web.get(postcodes_fake.url + "/postcodes/SW1A1AA").status_code == 404


# Members API


def _add_inverness(fake: MembersApiFake) -> None:
    fake.add_member(
        5362,
        name_display="Mr Angus MacDonald",
        name_list_as="MacDonald, Mr Angus",
        name_full_title="Mr Angus MacDonald MP",
        party="Liberal Democrat",
        gender="M",
        constituency_name="Inverness, Skye and West Ross-shire",
        constituency_id=4483,
    )
    fake.add_constituency(
        "Inverness, Skye and West Ross-shire", constituency_id=4483, member_id=5362
    )


def test_members_api_fake_constituency_item_matches_the_recording(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    _add_inverness(members_fake)
    response = web.get(members_fake.url + "/api/Location/Constituency/4483")
    assert response.content == contract_bytes(MAPI, "constituency_4483.json")


def test_members_api_fake_constituency_search_matches_the_recording(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    _add_inverness(members_fake)
    members_fake.add_mp("Cambridge")
    response = web.get(
        members_fake.url + "/api/Location/Constituency/Search", params={"searchText": "inverness"}
    )
    assert response.content == contract_bytes(MAPI, "constituency_search_inverness.json")


def test_members_api_fake_members_search_item_matches_the_recording(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    members_fake.add_member(
        4514,
        name_display="Sir Keir Starmer",
        name_list_as="Starmer, Sir Keir",
        name_full_title="Rt Hon Sir Keir Starmer MP",
        gender="M",
        constituency_name="Holborn and St Pancras",
        constituency_id=4105,
        start_date="2015-05-07T00:00:00",
        status_start_date="2024-07-04T00:00:00",
    )
    body = web.get(members_fake.url + "/api/Members/Search", params={"House": "Commons"}).json()
    recorded = load_contract(MAPI, "members_search.json")
    assert body["items"] == recorded["items"][:1]
    assert list(body) == list(recorded)
    assert body["links"] == recorded["links"]
    single = web.get(members_fake.url + "/api/members/4514").json()
    assert single == recorded["items"][0]


def test_members_api_fake_contact_list_matches_the_recording(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    members_fake.add_member(4514, name_display="Sir Keir Starmer")
    members_fake.set_contacts(4514, load_contract(MAPI, "member_4514_contact.json")["value"])
    response = web.get(members_fake.url + "/api/Members/4514/Contact")
    assert response.content == contract_bytes(MAPI, "member_4514_contact.json")


def test_members_api_fake_caps_take_at_20(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    for number in range(30):
        members_fake.add_mp(f"Seat {number}")
    body = web.get(
        members_fake.url + "/api/Members/Search",
        params={"House": 1, "IsCurrentMember": "true", "skip": 25, "take": 50},
    ).json()
    assert (body["skip"], body["take"], body["totalResults"], len(body["items"])) == (25, 20, 30, 5)
    search = web.get(
        members_fake.url + "/api/Location/Constituency/Search",
        params={"searchText": "seat", "take": 100},
    ).json()
    assert (search["take"], search["totalResults"], len(search["items"])) == (20, 30, 20)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/Members/123456", 404),
        ("/api/Members/123456/Contact", 404),
        ("/api/Location/Constituency/123456", 404),
        ("/api/Members/abc", 400),
        ("/api/Members/Search?skip=-1", 400),
        ("/api/Members/Search?House=3", 400),
        ("/api/Members/Search?IsCurrentMember=maybe", 400),
        ("/api/Location/Constituency/Search?take=x", 400),
        ("/api/Nothing/Here", 404),
        ("/Members/1", 404),
    ],
)
def test_members_api_fake_errors_have_status_and_no_body(
    members_fake: MembersApiFake, web: requests.Session, path: str, status: int
) -> None:
    response = web.get(members_fake.url + path)
    assert (response.status_code, response.content) == (status, b"")


def test_members_api_fake_empty_contact_list(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    member_id = members_fake.add_member(name_display="Jo Example")
    body = web.get(f"{members_fake.url}/api/Members/{member_id}/Contact").json()
    assert body["value"] == load_contract(MAPI, "empty_list.json")["value"]
    assert body["links"][0] == {
        "rel": "self",
        "href": f"/Members/{member_id}/Contact",
        "method": "GET",
    }


def test_members_api_fake_loads_the_mp_csv(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    records = members_fake.load_mp_csv()
    assert len(records) == 650
    assert len({r.constituency_id for r in records}) == 650
    fermanagh = members_fake.constituency_id("N05000007")
    body = web.get(f"{members_fake.url}/api/Location/Constituency/{fermanagh}").json()
    member = body["value"]["currentRepresentation"]["member"]["value"]
    assert member["latestParty"]["name"] == "Sinn Féin"
    speaker = next(r for r in records if r.constituency_name == "Chorley")
    assert (speaker.member_id, speaker.email) == (467, "lindsay.hoyle.mp@parliament.uk")
    assert members_fake.constituency_id("Chorley") == speaker.constituency_id
    with pytest.raises(KeyError):
        members_fake.constituency_id("Atlantis")


def test_members_api_fake_add_mp_without_email_has_only_an_address(
    members_fake: MembersApiFake, web: requests.Session
) -> None:
    record = members_fake.add_mp("Cambridge", email=None)
    [entry] = web.get(f"{members_fake.url}/api/Members/{record.member_id}/Contact").json()["value"]
    assert "email" not in entry
    assert entry["postcode"] == "SW1A 0AA"
    made_up = members_fake.add_mp("Bath", name_display="Wera Hobhouse")
    assert made_up.email == "wera.hobhouse.mp@parliament.uk"


# The server and its fault hooks


class EchoFake(FakeServer):
    """A minimal fake that echoes the request path."""

    def handle(self, request: RecordedRequest) -> Reply:
        """Echo the path and body."""
        return Reply.json(200, {"path": request.path, "body": request.body.decode()})


@pytest.fixture
def echo() -> Iterator[EchoFake]:
    """A running echo fake."""
    with EchoFake() as fake:
        yield fake


def test_fake_server_records_requests(echo: EchoFake, web: requests.Session) -> None:
    web.post(echo.url + "/a/b%20c?x=1&X=2", json={"k": "v"})
    [request] = echo.requests
    assert (request.method, request.path, request.target) == ("POST", "/a/b c", "/a/b%20c?x=1&X=2")
    assert request.param("x") == "1"
    assert request.json() == {"k": "v"}
    assert request.headers["content-type"] == "application/json"
    echo.clear_requests()
    assert echo.request_count == 0


def test_fake_server_latency_delays_every_request(echo: EchoFake, web: requests.Session) -> None:
    echo.latency = 0.1
    started = time.monotonic()
    web.get(echo.url + "/")
    web.get(echo.url + "/")
    assert time.monotonic() - started >= 0.2


def test_fake_server_fail_next_counts_and_filters_by_path(
    echo: EchoFake, web: requests.Session
) -> None:
    echo.fail_next(2, status=503, path="/flaky")
    assert web.get(echo.url + "/steady").status_code == 200
    assert [web.get(echo.url + "/flaky").status_code for _ in range(3)] == [503, 503, 200]


def test_fake_server_fail_always_until_cleared(echo: EchoFake, web: requests.Session) -> None:
    echo.fail_always(status=502)
    assert [web.get(echo.url + "/").status_code for _ in range(3)] == [502, 502, 502]
    echo.clear_faults()
    assert web.get(echo.url + "/").status_code == 200


def test_fake_server_respond_next_sends_a_canned_reply(
    echo: EchoFake, web: requests.Session
) -> None:
    echo.respond_next(Reply(201, b"made", (("X-Thing", "yes"),)))
    response = web.get(echo.url + "/")
    assert (response.status_code, response.content, response.headers["X-Thing"]) == (
        201,
        b"made",
        "yes",
    )


@pytest.mark.parametrize("hook", ["reset_next", "close_next"])
def test_fake_server_drops_connections_without_answering(
    echo: EchoFake, web: requests.Session, hook: str
) -> None:
    getattr(echo, hook)()
    with pytest.raises(requests.ConnectionError):
        web.get(echo.url + "/")
    assert web.get(echo.url + "/").status_code == 200


def test_fake_server_slow_next_outlasts_a_read_timeout(
    echo: EchoFake, web: requests.Session
) -> None:
    echo.slow_next(2.0)
    with pytest.raises(requests.ReadTimeout):
        web.get(echo.url + "/", timeout=(0.5, 0.1))
    assert web.get(echo.url + "/", timeout=1).status_code == 200


def test_fake_server_handler_errors_become_500(web: requests.Session) -> None:
    class Broken(FakeServer):
        def handle(self, request: RecordedRequest) -> Reply:
            raise RuntimeError("bug in a fake")

    with Broken() as fake:
        assert web.get(fake.url + "/").status_code == 500


def test_fake_server_stop_frees_the_port() -> None:
    fake = EchoFake().start()
    port = fake.port
    fake.stop()
    fake.stop()  # idempotent
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
    with pytest.raises(RuntimeError, match="not running"):
        _ = fake.url


def test_fake_server_rejects_a_zero_count(echo: EchoFake) -> None:
    with pytest.raises(ValueError, match="count"):
        echo.fail_next(0)


def test_fake_server_base_class_must_be_subclassed(web: requests.Session) -> None:
    with FakeServer() as fake:
        assert web.get(fake.url + "/").status_code == 500
