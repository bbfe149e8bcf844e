"""Mail backends: the SendGrid request, each class of answer, and the development outbox."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import time
from pathlib import Path

import pytest
import requests

from advocacy.config import Settings
from advocacy.delivery.mail import (
    MailAuthError,
    OutboxBackend,
    OutgoingEmail,
    PermanentMailError,
    RateLimited,
    SendGridBackend,
    TransientMailError,
    error_messages,
    make_backend,
)
from tests.conftest import make_settings
from tests.fakes.fixtures import load_contract
from tests.fakes.sendgrid import FakeSendGrid, sendgrid_error

EMAIL = OutgoingEmail(
    to_email="jo.bloggs.mp@parliament.uk",
    to_name="Jo Bloggs MP",
    from_email="letters@campaign.example",
    from_name="Ayesha Khan via Save Our Libraries",
    reply_to_email="ayesha@example.org",
    reply_to_name="Ayesha Khan",
    subject="Please keep Leeds libraries open",
    text="Dear Jo,\n\nPlease.\n",
    html="<p>Dear Jo,</p><p>Please.</p>",
    custom_args={"letter_key": "abc123", "kind": "letter"},
    categories=("letter",),
)


@pytest.fixture
def backend(fake_sendgrid: FakeSendGrid) -> SendGridBackend:
    return SendGridBackend(fake_sendgrid.api_key, fake_sendgrid.url, timeout=(1.0, 1.0))


def test_sendgrid_send_returns_message_id_and_sends_the_whole_email(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    result = backend.send(EMAIL)
    [accepted] = fake_sendgrid.accepted
    assert result.message_id == accepted.message_id
    payload = accepted.payload
    assert payload["from"] == {"email": EMAIL.from_email, "name": EMAIL.from_name}
    assert payload["reply_to"] == {"email": "ayesha@example.org", "name": "Ayesha Khan"}
    assert payload["personalizations"][0]["to"] == [
        {"email": "jo.bloggs.mp@parliament.uk", "name": "Jo Bloggs MP"}
    ]
    assert accepted.content("text/plain") == EMAIL.text
    assert accepted.content("text/html") == EMAIL.html
    assert accepted.custom_args() == {"letter_key": "abc123", "kind": "letter"}
    assert payload["categories"] == ["letter"]
    tracking = payload["tracking_settings"]
    assert tracking["click_tracking"]["enable"] is False
    assert tracking["open_tracking"]["enable"] is False
    request = fake_sendgrid.requests[-1]
    assert request.headers["authorization"] == f"Bearer {fake_sendgrid.api_key}"


def test_sendgrid_reuses_one_connection(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    for _ in range(5):
        backend.send(EMAIL)
    pools = backend._session().get_adapter(fake_sendgrid.url).poolmanager.pools
    [pool] = [pools[key] for key in pools.keys()]  # noqa: SIM118 - RecentlyUsedContainer
    assert pool.num_connections == 1
    assert len(fake_sendgrid.accepted) == 5


def test_sendgrid_429_raises_rate_limited_with_reset(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    fake_sendgrid.rate_limit_next(1, reset_in=2.0)
    with pytest.raises(RateLimited) as caught:
        backend.send(EMAIL)
    assert time.time() + 1.0 < caught.value.reset_at <= time.time() + 3.5
    assert fake_sendgrid.accepted == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_sendgrid_5xx_is_transient(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid, status: int
) -> None:
    fake_sendgrid.fail_next(1, status=status)
    with pytest.raises(TransientMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.status == status
    assert caught.value.maybe_accepted is False


def test_sendgrid_recorded_400_is_permanent_with_messages(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    fake_sendgrid.reject_next()
    with pytest.raises(PermanentMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.status == 400
    assert caught.value.messages == [
        "from.email: The from email does not contain a valid address.",
        "personalizations.0.to.0.email: Does not contain a valid address.",
    ]


def test_sendgrid_413_is_permanent(backend: SendGridBackend, fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.fail_next(1, status=413)
    with pytest.raises(PermanentMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.messages == ["content too large"]


def test_sendgrid_invalid_request_is_refused_by_the_fake_like_the_api(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    bad = OutgoingEmail(**{**EMAIL.__dict__, "categories": tuple(f"c{i}" for i in range(11))})
    with pytest.raises(PermanentMailError) as caught:
        backend.send(bad)
    assert caught.value.messages == [
        "categories: You may not have more than 10 categories per request."
    ]
    huge = OutgoingEmail(**{**EMAIL.__dict__, "custom_args": {"x": "y" * 10_001}})
    with pytest.raises(PermanentMailError, match="custom_args"):
        backend.send(huge)


@pytest.mark.parametrize("status", [401, 403])
def test_sendgrid_refused_key_raises_auth_error(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid, status: int
) -> None:
    fake_sendgrid.fail_next(1, status=status)
    with pytest.raises(MailAuthError) as caught:
        backend.send(EMAIL)
    assert caught.value.status == status


def test_sendgrid_wrong_key_gets_the_api_401(fake_sendgrid: FakeSendGrid) -> None:
    backend = SendGridBackend("SG.wrong", fake_sendgrid.url)
    with pytest.raises(MailAuthError, match="authorization required"):
        backend.send(EMAIL)


def test_sendgrid_dropped_connection_may_have_been_accepted(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    fake_sendgrid.close_next()
    with pytest.raises(TransientMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.maybe_accepted is True


def test_sendgrid_read_timeout_may_have_been_accepted(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    fake_sendgrid.slow_next(1.5)
    with pytest.raises(TransientMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.maybe_accepted is True
    time.sleep(0.8)
    # The fake, like SendGrid, went on to accept it: the reason retries are flagged.
    assert len(fake_sendgrid.accepted) == 1


def test_sendgrid_refused_connection_was_certainly_not_accepted() -> None:
    backend = SendGridBackend("SG.key", "http://127.0.0.1:9", timeout=(0.5, 0.5))
    with pytest.raises(TransientMailError) as caught:
        backend.send(EMAIL)
    assert caught.value.maybe_accepted is False


def test_error_messages_accept_every_field_form() -> None:
    body = (
        b'{"errors":[{"message":"a","field":"null"},{"message":"b","field":null},'
        b'{"message":"c"},{"message":"d","field":"from.email","help":"http://x"}]}'
    )
    assert error_messages(body) == ["a", "b", "c", "from.email: d"]
    assert error_messages(b"not json") == []
    assert error_messages(b"") == []
    recorded = load_contract("sendgrid", "mail_send_400_invalid_address_recorded.json")
    assert len(error_messages(str(recorded).replace("'", '"'))) == 2


def test_fake_error_objects_match_the_recorded_shape() -> None:
    error = sendgrid_error("m", "from.email", "message.from")
    recorded = load_contract("sendgrid", "mail_send_400_invalid_address_recorded.json")
    assert set(error) == set(recorded["errors"][0])


def test_fake_sends_rate_limit_headers_on_every_answer(fake_sendgrid: FakeSendGrid) -> None:
    ok = requests.post(
        fake_sendgrid.url + "/v3/mail/send",
        json={},
        headers={"Authorization": "Bearer nope"},
        timeout=2,
    )
    assert ok.status_code == 401
    assert ok.json() == {"errors": [{"message": "authorization required", "field": "null"}]}
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert name in ok.headers


def test_outbox_writes_a_readable_eml(tmp_path: Path) -> None:
    backend = OutboxBackend(tmp_path / "outbox")
    result = backend.send(EMAIL)
    [path] = list((tmp_path / "outbox").glob("*.eml"))
    assert result.message_id
    assert result.message_id in path.name
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert message["To"] == "Jo Bloggs MP <jo.bloggs.mp@parliament.uk>"
    assert message["Reply-To"] == "Ayesha Khan <ayesha@example.org>"
    assert message["X-Custom-Arg-letter_key"] == "abc123"
    assert message.get_body(("plain",)).get_content() == EMAIL.text  # type: ignore[union-attr]


def test_outbox_writes_a_plain_text_copy_with_whole_links(tmp_path: Path) -> None:
    link = "http://127.0.0.1:5000/letters/confirm/" + "x" * 120 + ".AbC-_9"
    mail = dataclasses.replace(EMAIL, text=f"Please confirm:\n\n{link}\n\nThank you.\n")
    OutboxBackend(tmp_path / "outbox").send(mail)
    [eml] = list((tmp_path / "outbox").glob("*.eml"))
    [txt] = list((tmp_path / "outbox").glob("*.txt"))
    assert txt.stem == eml.stem
    # Quoted-printable folds the long link in the .eml; the .txt keeps it whole.
    assert link not in eml.read_text()
    content = txt.read_text()
    assert content.startswith("From: Ayesha Khan via Save Our Libraries <letters@campaign.example>")
    assert f"\n{link}\n" in content
    assert content.rstrip().endswith(f"Links in this message:\n{link}")
    assert not list((tmp_path / "outbox").glob(".*"))  # no partial files left behind


def test_make_backend_follows_settings(tmp_path: Path, database_url: str) -> None:
    outbox = make_backend(make_settings(database_url, tmp_path))
    assert isinstance(outbox, OutboxBackend)
    settings: Settings = make_settings(
        database_url,
        tmp_path,
        env={"MAIL_BACKEND": "sendgrid", "SENDGRID_API_KEY": "SG.k", "WORKER_LEASE_SECONDS": "6"},
    )
    sendgrid = make_backend(settings)
    assert isinstance(sendgrid, SendGridBackend)
    assert sendgrid.timeout[1] <= 2.0  # a request never outlives a third of its lease


def test_sendgrid_display_names_with_commas_are_quoted(
    backend: SendGridBackend, fake_sendgrid: FakeSendGrid
) -> None:
    # SendGrid copies names into headers as they are; a bare comma would split the address.
    named = OutgoingEmail(
        **{
            **EMAIL.__dict__,
            "from_name": "Khan, Ayesha via Save Our Libraries",
            "reply_to_name": "Khan; Ayesha",
            "to_name": 'Bloggs, Jo "MP"',
        }
    )
    backend.send(named)
    payload = fake_sendgrid.accepted[0].payload
    assert payload["from"]["name"] == '"Khan, Ayesha via Save Our Libraries"'
    assert payload["reply_to"]["name"] == '"Khan; Ayesha"'
    assert payload["personalizations"][0]["to"][0]["name"] == '"Bloggs, Jo \\"MP\\""'
    parsed = email.message_from_string(
        f"From: {payload['from']['name']} <{payload['from']['email']}>\n\n",
        policy=email.policy.default,
    )
    [address] = parsed["From"].addresses
    assert address.display_name == "Khan, Ayesha via Save Our Libraries"
    assert address.addr_spec == "letters@campaign.example"
