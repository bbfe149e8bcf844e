"""PostcodesIoClient against the loopback postcodes.io fake."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests

from postcode_lookup import (
    BFPOPostcode,
    BreakerState,
    CircuitBreaker,
    InvalidPostcode,
    InvalidReason,
    LookupUnavailable,
    OutsideParliament,
    OverseasPostcode,
    PostcodeNotFound,
    PostcodeResult,
    PostcodesIoClient,
    PostcodeTerminated,
    RetryPolicy,
    parse_postcode,
)
from tests.clock import FakeClock
from tests.fakes import PostcodesIoFake, Reply, load_contract

WESTMINSTER = ("SW1A 1AA", "E14001172", "Cities of London and Westminster")


@pytest.fixture
def westminster(postcodes_fake: PostcodesIoFake) -> None:
    """SW1A 1AA in Cities of London and Westminster."""
    postcodes_fake.add_postcode(WESTMINSTER[0], constituency_code=WESTMINSTER[1])


@pytest.mark.usefixtures("westminster")
def test_lookup_returns_the_constituency_from_codes(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    result = postcodes_client.lookup("SW1A 1AA")
    assert result == PostcodeResult(
        postcode="SW1A 1AA",
        outward_code="SW1A",
        inward_code="1AA",
        country="England",
        region="South East",  # the template's value; the fake only replaces what it must
        admin_district="Sevenoaks",
        constituency_code="E14001172",
        constituency_name="Cities of London and Westminster",
        longitude=0.178871,
        latitude=51.411831,
    )
    [request] = postcodes_fake.requests
    assert (request.method, request.path) == ("GET", "/postcodes/SW1A1AA")
    assert request.headers["accept"] == "application/json"


@pytest.mark.usefixtures("westminster")
@pytest.mark.parametrize("typed", ["sw1a1aa", "  Sw1A   1aA ", "SW1A\u00a01AA"])
def test_lookup_ignores_case_and_spacing(postcodes_client: PostcodesIoClient, typed: str) -> None:
    assert postcodes_client.lookup(typed).postcode == "SW1A 1AA"


@pytest.mark.usefixtures("westminster")
def test_lookup_accepts_a_parsed_postcode(postcodes_client: PostcodesIoClient) -> None:
    parsed = parse_postcode("sw1a 1aa")
    assert postcodes_client.lookup(parsed).constituency_code == "E14001172"


@pytest.mark.parametrize(
    ("postcode", "code", "name"),
    [
        ("SW1A 1AA", "E14001172", "Cities of London and Westminster"),
        ("BS1 1DA", "E14001131", "Bristol Central"),
        ("TR18 5EG", "E14001511", "St Ives"),
        ("BR8 7RE", "E14001465", "Sevenoaks"),
    ],
)
def test_lookup_reads_recorded_bodies_without_the_newer_fields(
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    postcode: str,
    code: str,
    name: str,
) -> None:
    postcodes_fake.add_recorded_postcodes()
    result = postcodes_client.lookup(postcode)
    assert (result.postcode, result.constituency_code, result.constituency_name) == (
        postcode,
        code,
        name,
    )


def test_lookup_falls_back_to_the_2024_field_when_the_code_is_stale(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    # Recorded before postcodes.io v17: the first field still held the old N06 code.
    result = load_contract("postcodes-io", "recorded/lookup_result_only_BT53_7HX.json")
    postcodes_fake.add_result(result)
    found = postcodes_client.lookup("BT53 7HX")
    assert (found.constituency_code, found.constituency_name) == ("N05000012", "North Antrim")
    assert found.region is None
    assert found.country == "Northern Ireland"


def test_lookup_ignores_unknown_keys(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    result = postcodes_fake.add_postcode("BR8 7RE", constituency_code="E14001465")
    result["a_field_from_the_future"] = {"nested": [1, 2, 3]}
    result["codes"]["another_new_code"] = "X99999999"
    postcodes_fake.add_result(result)
    assert postcodes_client.lookup("BR8 7RE").constituency_name == "Sevenoaks"


def test_lookup_terminated_postcode_raises_postcode_terminated(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
    with pytest.raises(PostcodeTerminated) as caught:
        postcodes_client.lookup("ab10aa")
    assert (caught.value.year_terminated, caught.value.month_terminated) == (1996, 6)
    assert caught.value.postcode == "AB1 0AA"
    assert postcodes_fake.request_count == 1


def test_lookup_unknown_postcode_raises_not_found_without_retrying(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake, sleeps: list[float]
) -> None:
    with pytest.raises(PostcodeNotFound) as caught:
        postcodes_client.lookup("ZZ1 1ZZ")
    assert not isinstance(caught.value, PostcodeTerminated)
    assert caught.value.postcode == "ZZ1 1ZZ"
    assert postcodes_fake.request_count == 1
    assert sleeps == []


def test_lookup_postcode_upstream_calls_invalid_raises_invalid_postcode(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    # GIR 0AA is a real (non-geographic) postcode, but postcodes.io's format check rejects it.
    with pytest.raises(InvalidPostcode) as caught:
        postcodes_client.lookup("GIR 0AA")
    assert caught.value.reason is InvalidReason.NOT_RECOGNISED
    assert postcodes_fake.request_count == 1


def test_lookup_malformed_input_raises_invalid_without_a_request(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    with pytest.raises(InvalidPostcode) as caught:
        postcodes_client.lookup("SW1A")
    assert caught.value.reason is InvalidReason.INCOMPLETE
    assert postcodes_fake.request_count == 0


@pytest.mark.parametrize(
    ("postcode", "error", "region"),
    [
        ("JE2 3AB", OutsideParliament, "Jersey"),
        ("GY1 1AA", OutsideParliament, "Guernsey"),
        ("IM1 1AA", OutsideParliament, "Isle of Man"),
        ("BFPO 123", BFPOPostcode, "British Forces Post Office"),
        ("BF1 3AA", BFPOPostcode, "British Forces Post Office"),
        ("FIQQ 1ZZ", OverseasPostcode, "the Falkland Islands"),
        ("GX11 1AA", OverseasPostcode, "Gibraltar"),
    ],
)
def test_lookup_special_postcodes_raise_without_a_request(
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    postcode: str,
    error: type[OutsideParliament],
    region: str,
) -> None:
    with pytest.raises(error) as caught:
        postcodes_client.lookup(postcode)
    assert type(caught.value) is error
    assert caught.value.region == region
    assert postcodes_fake.request_count == 0


@pytest.mark.parametrize(
    ("code", "country", "region"),
    [
        ("L99999999", "Channel Islands", "Channel Islands"),
        ("M99999999", "Isle of Man", "Isle of Man"),
        ("E99999999", "England", "This area"),
    ],
)
def test_lookup_pseudo_constituency_code_raises_outside_parliament(
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    code: str,
    country: str,
    region: str,
) -> None:
    result = postcodes_fake.add_postcode("ZE1 0AA", constituency_code=code, country=country)
    assert result["parliamentary_constituency"] is None
    with pytest.raises(OutsideParliament) as caught:
        postcodes_client.lookup("ZE1 0AA")
    assert caught.value.region == region


def test_lookup_404_without_the_envelope_is_unavailable(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.respond_next(Reply(404, b"<h1>Not Found</h1>"))
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("SW1A 1AA")
    assert "404" in caught.value.reason


def test_lookup_wrong_base_url_is_unavailable_not_postcode_not_found(
    http: requests.Session, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.add_postcode(WESTMINSTER[0], constituency_code=WESTMINSTER[1])
    client = PostcodesIoClient(http, postcodes_fake.url + "/v1")
    with pytest.raises(LookupUnavailable) as caught:
        client.lookup("SW1A 1AA")
    assert caught.value.reason == "HTTP 404: Resource not found"


def test_lookup_success_that_is_not_json_is_unavailable_and_not_retried(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.respond_next(Reply(200, b"<html>captive portal</html>"))
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("SW1A 1AA")
    assert not caught.value.retryable
    assert postcodes_fake.request_count == 1


def test_lookup_success_without_a_result_is_unavailable(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.respond_next(Reply.json(200, {"status": 200, "result": None}))
    with pytest.raises(LookupUnavailable, match="without a result"):
        postcodes_client.lookup("SW1A 1AA")
    postcodes_fake.respond_next(Reply.json(200, {"status": 200, "result": {"quality": 1}}))
    with pytest.raises(LookupUnavailable, match="without a postcode"):
        postcodes_client.lookup("SW1A 1AA")


@pytest.mark.usefixtures("westminster")
def test_lookup_retries_5xx_then_succeeds(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake, sleeps: list[float]
) -> None:
    postcodes_fake.fail_next(2)
    assert postcodes_client.lookup("SW1A 1AA").constituency_code == "E14001172"
    assert postcodes_fake.request_count == 3
    assert sleeps == pytest.approx([0.1, 0.2])


def test_lookup_gives_up_after_repeated_5xx(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.fail_always(status=503)
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("SW1A 1AA")
    assert caught.value.reason == "HTTP 503"
    assert caught.value.service == "postcodes.io"
    assert postcodes_fake.request_count == 3


@pytest.mark.parametrize("status", [400, 401, 403, 429])
def test_lookup_never_retries_4xx(
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    sleeps: list[float],
    status: int,
) -> None:
    postcodes_fake.fail_next(status=status)
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("SW1A 1AA")
    assert not caught.value.retryable
    assert str(status) in caught.value.reason
    assert postcodes_fake.request_count == 1
    assert sleeps == []


@pytest.mark.usefixtures("westminster")
def test_lookup_read_timeout_raises_unavailable_quickly(
    http: requests.Session, postcodes_fake: PostcodesIoFake, sleeps: list[float]
) -> None:
    client = PostcodesIoClient(
        http,
        postcodes_fake.url,
        connect_timeout=0.5,
        read_timeout=0.1,
        retry=RetryPolicy(max_attempts=2, sleep=sleeps.append),
    )
    postcodes_fake.slow_next(3.0, count=2)
    started = time.monotonic()
    with pytest.raises(LookupUnavailable) as caught:
        client.lookup("SW1A 1AA")
    assert time.monotonic() - started < 1.5
    assert caught.value.reason == "timeout (ReadTimeout)"
    assert postcodes_fake.request_count == 2


@pytest.mark.usefixtures("westminster")
def test_lookup_slow_but_within_the_timeout_succeeds(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.latency = 0.05
    assert postcodes_client.lookup("SW1A 1AA").postcode == "SW1A 1AA"


def test_lookup_connection_refused_raises_unavailable(
    http: requests.Session, retry: RetryPolicy, sleeps: list[float]
) -> None:
    stopped = PostcodesIoFake().start()
    url = stopped.url
    stopped.stop()
    client = PostcodesIoClient(http, url, connect_timeout=0.5, read_timeout=0.5, retry=retry)
    with pytest.raises(LookupUnavailable) as caught:
        client.lookup("SW1A 1AA")
    assert caught.value.reason.startswith("connection failed")
    assert caught.value.retryable
    assert len(sleeps) == 2  # retried, then gave up


@pytest.mark.usefixtures("westminster")
def test_lookup_connection_reset_is_retried(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.reset_next()
    assert postcodes_client.lookup("SW1A 1AA").postcode == "SW1A 1AA"
    assert postcodes_fake.request_count == 2


@pytest.mark.usefixtures("westminster")
def test_lookup_connection_closed_without_an_answer_is_retried(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.close_next()
    assert postcodes_client.lookup("SW1A 1AA").postcode == "SW1A 1AA"
    assert postcodes_fake.request_count == 2


class RecordingSession(requests.Session):
    """A session that remembers the timeout of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(*args, **kwargs)


@pytest.mark.usefixtures("westminster")
def test_lookup_sets_connect_and_read_timeouts_on_every_call(
    postcodes_fake: PostcodesIoFake,
) -> None:
    with RecordingSession() as session:
        client = PostcodesIoClient(
            session, postcodes_fake.url, connect_timeout=1.5, read_timeout=2.5
        )
        client.lookup("SW1A 1AA")
        client.bulk_lookup(["SW1A 1AA"])
    assert session.timeouts == [(1.5, 2.5), (1.5, 2.5)]


def test_lookup_circuit_opens_after_failures_and_rejects_without_requests(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.fail_always()
    for _ in range(3):
        with pytest.raises(LookupUnavailable, match="HTTP 500"):
            postcodes_client.lookup("SW1A 1AA")
    assert postcodes_client.breaker.state is BreakerState.OPEN
    sent = postcodes_fake.request_count
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("SW1A 1AA")
    assert caught.value.reason == "circuit open"
    assert caught.value.retry_after == pytest.approx(30.0)
    assert postcodes_fake.request_count == sent


def test_lookup_circuit_half_open_trial_closes_it_again(
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    breaker: CircuitBreaker,
    clock: FakeClock,
) -> None:
    postcodes_fake.add_postcode(WESTMINSTER[0], constituency_code=WESTMINSTER[1])
    postcodes_fake.fail_always()
    for _ in range(3):
        with pytest.raises(LookupUnavailable):
            postcodes_client.lookup("SW1A 1AA")
    postcodes_fake.clear_faults()
    clock.advance(29)
    with pytest.raises(LookupUnavailable, match="circuit open"):
        postcodes_client.lookup("SW1A 1AA")
    clock.advance(1)
    assert breaker.state is BreakerState.HALF_OPEN
    assert postcodes_client.lookup("SW1A 1AA").postcode == "SW1A 1AA"
    assert breaker.state is BreakerState.CLOSED


def test_lookup_not_found_answers_do_not_trip_the_breaker(
    postcodes_client: PostcodesIoClient,
) -> None:
    for _ in range(5):
        with pytest.raises(PostcodeNotFound):
            postcodes_client.lookup("ZZ1 1ZZ")
    assert postcodes_client.breaker.state is BreakerState.CLOSED


@pytest.mark.usefixtures("westminster")
def test_bulk_lookup_keys_results_by_the_query_as_given(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
    postcodes_fake.add_postcode("ZE1 0AA", constituency_code="L99999999")
    queries = [
        "SW1A 1AA",
        "sw1a1aa",
        "ZZ1 1ZZ",
        "not a postcode",
        "JE2 3AB",
        "BFPO 1",
        "AB1 0AA",
        "ZE1 0AA",
        "SW1A 1AA",
    ]
    results = postcodes_client.bulk_lookup(queries)
    assert list(results) == list(dict.fromkeys(queries))
    assert results["SW1A 1AA"] == results["sw1a1aa"] == postcodes_client.lookup("SW1A 1AA")
    for query in ["ZZ1 1ZZ", "not a postcode", "JE2 3AB", "BFPO 1", "AB1 0AA", "ZE1 0AA"]:
        assert results[query] is None
    bulk = [r for r in postcodes_fake.requests if r.method == "POST"]
    assert len(bulk) == 1
    assert bulk[0].path == "/postcodes"
    # Spellings of one postcode are sent once; special and malformed ones not at all.
    assert bulk[0].json() == {"postcodes": ["SW1A1AA", "ZZ11ZZ", "AB10AA", "ZE10AA"]}


def _many_postcodes(count: int) -> list[str]:
    letters = "ABDEFGHJLN"
    return [f"N{i // 100 + 1} {i % 10}{letters[(i // 10) % 10]}Z" for i in range(count)]


def test_bulk_lookup_chunks_more_than_100_postcodes(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes = _many_postcodes(250)
    assert len(set(postcodes)) == 250
    for postcode in postcodes:
        postcodes_fake.add_postcode(postcode, constituency_code="E14001390")
    results = postcodes_client.bulk_lookup(postcodes)
    assert len(results) == 250
    assert all(
        r is not None and r.constituency_name == "North East Cambridgeshire"
        for r in results.values()
    )
    sizes = [len(r.json()["postcodes"]) for r in postcodes_fake.requests]
    assert sizes == [100, 100, 50]


def test_bulk_lookup_of_nothing_sends_nothing(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    assert postcodes_client.bulk_lookup([]) == {}
    assert postcodes_client.bulk_lookup(["JE2 3AB", "nonsense"]) == {
        "JE2 3AB": None,
        "nonsense": None,
    }
    assert postcodes_fake.request_count == 0


@pytest.mark.usefixtures("westminster")
def test_bulk_lookup_retries_5xx_then_succeeds(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.fail_next(1, path="/postcodes")
    assert postcodes_client.bulk_lookup(["SW1A 1AA"])["SW1A 1AA"] is not None
    assert postcodes_fake.request_count == 2


def test_bulk_lookup_refusal_raises_unavailable(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    body = load_contract("postcodes-io", "error_bulk_too_many_postcodes.json")
    postcodes_fake.respond_next(Reply.json(400, body))
    with pytest.raises(LookupUnavailable, match="Too many postcodes"):
        postcodes_client.bulk_lookup(["SW1A 1AA"])
    assert postcodes_fake.request_count == 1


def test_bulk_lookup_malformed_entry_raises_unavailable(
    postcodes_client: PostcodesIoClient, postcodes_fake: PostcodesIoFake
) -> None:
    postcodes_fake.respond_next(Reply.json(200, {"status": 200, "result": [{"result": None}]}))
    with pytest.raises(LookupUnavailable, match="without a query"):
        postcodes_client.bulk_lookup(["SW1A 1AA"])


def test_lookup_logs_and_errors_never_contain_the_full_postcode(
    http: requests.Session,
    postcodes_client: PostcodesIoClient,
    postcodes_fake: PostcodesIoFake,
    caplog: pytest.LogCaptureFixture,
) -> None:
    postcodes_fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
    postcodes_fake.add_postcode("ZE1 0AA", constituency_code="L99999999")
    caplog.set_level(logging.DEBUG, logger="postcode_lookup")
    errors: list[Exception] = []
    postcodes_fake.fail_next(2)
    for postcode in ["AB1 0AA", "ZE1 0AA", "ZZ1 1ZZ"]:
        try:
            postcodes_client.lookup(postcode)
        except PostcodeNotFound as exc:
            errors.append(exc)
        except OutsideParliament as exc:
            errors.append(exc)
    postcodes_fake.fail_always()
    with pytest.raises(LookupUnavailable) as caught:
        postcodes_client.lookup("ZZ1 1ZZ")
    # requests puts the URL (so the postcode) in its exception messages: never chain them.
    refused = PostcodesIoClient(http, "http://127.0.0.1:9", retry=RetryPolicy(max_attempts=1))
    with pytest.raises(LookupUnavailable) as refusal:
        refused.lookup("ZZ1 1ZZ")
    assert refusal.value.__cause__ is None
    assert refusal.value.__suppress_context__
    errors.append(refusal.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("postcode_lookup")]
    assert any("a terminated postcode was looked up" in message for message in ours)
    for text in [*ours, *(str(e) for e in [*errors, caught.value])]:
        for postcode in ["AB1 0AA", "AB10AA", "ZE1 0AA", "ZE10AA", "ZZ1 1ZZ", "ZZ11ZZ"]:
            assert postcode not in text
    # Not even the outward code: an area and a time can be enough to find somebody.
    for text in ours:
        for outward in ["AB1", "ZE1", "ZZ1"]:
            assert outward not in text.split(), text
