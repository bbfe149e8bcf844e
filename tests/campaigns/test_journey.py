"""The constituent's journey through the web pages, against a fake postcodes.io."""

from __future__ import annotations

import dataclasses
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy import create_app
from advocacy.delivery.compose import compose_notification
from advocacy.directory.service import invalidate_directory_cache
from advocacy.extensions import db
from advocacy.models import (
    Letter,
    LetterState,
    LetterTemplate,
    MemberOfParliament,
    Notification,
    NotificationKind,
    PostcodeCacheEntry,
    Signature,
    utcnow,
)
from tests.campaigns.conftest import (
    CAMPAIGN,
    csrf_token,
    page_form,
    send_letter,
    write_form,
    write_page_url,
)
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")


def text(response: object) -> str:
    """A response's visible text: tags removed, whitespace collapsed."""
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace(" ,", ",").replace(" .", ".")


def raw(response: object) -> str:
    """A response's HTML."""
    return str(response.get_data(as_text=True))  # type: ignore[attr-defined]


def test_campaign_page_shows_issue_count_and_postcode_box(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}")
    page = text(response)
    assert "Stand with the Uyghurs" in page
    assert "0 letters sent so far" in page
    assert 'name="postcode"' in raw(response)
    assert "Why a letter matters" in page


def test_index_redirects_to_the_only_campaign(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/campaigns/{CAMPAIGN}")


def test_unknown_campaign_is_a_plain_404(client: FlaskClient) -> None:
    response = client.get("/campaigns/nope")
    assert response.status_code == 404
    assert "We could not find that page" in text(response)


def test_count_json_has_total_last_24h_and_goal(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/count.json")
    assert response.status_code == 200
    assert response.get_json() == {"total": 0, "last_24h": 0, "goal": 10000, "by_partner": {}}
    assert "max-age" in response.headers["Cache-Control"]


def test_count_json_unknown_campaign_answers_json_error(client: FlaskClient) -> None:
    response = client.get("/campaigns/nope/count.json")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("raw", ["sw1a1aa", "  SW1A   1AA ", "Sw1A 1aA"])
def test_find_mp_normalises_postcode_and_shows_mp(
    client: FlaskClient, postcodes_io: PostcodesIoFake, raw: str
) -> None:
    page = text(client.get(f"/campaigns/{CAMPAIGN}/mp", query_string={"postcode": raw}))
    assert "Your MP is Rachel Blake" in page
    assert "Cities of London and Westminster" in page
    assert "Labour (Co-op)" in page
    assert "SW1A 1AA" in page
    assert "The persecution of the Uyghurs" in page
    assert "The oppression of Uyghur women" in page


def test_find_mp_caches_the_postcode(client: FlaskClient, postcodes_io: PostcodesIoFake) -> None:
    for _ in range(3):
        assert client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=BS1+1DA").status_code == 200
    assert postcodes_io.request_count == 1


def test_find_mp_serves_cache_when_upstream_is_down(
    client: FlaskClient, postcodes_io: PostcodesIoFake, session: Session
) -> None:
    assert client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=TR18+5EG").status_code == 200
    # A fresh answer would be served without asking postcodes.io at all: age it past the
    # cache lifetime and forget the memory copy, so the page must meet the outage.
    entry = session.get(PostcodeCacheEntry, "TR18 5EG")
    assert entry is not None
    entry.looked_up_at = utcnow() - timedelta(days=365)
    session.commit()
    invalidate_directory_cache()
    postcodes_io.fail_always(status=500)
    asked = postcodes_io.request_count
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=TR18+5EG")
    assert response.status_code == 200  # not the 503 page, which lists every seat
    assert "Your MP is" in text(response)
    assert "St Ives" in text(response)
    assert postcodes_io.request_count > asked


@pytest.mark.parametrize(
    ("postcode", "status", "message"),
    [
        ("not a postcode", 422, "does not look like a UK postcode"),
        ("ZZ1 1ZZ", 404, "We could not find that postcode"),
        ("AB1 0AA", 404, "no longer in use"),
        ("JE2 3AB", 404, "Jersey does not elect an MP"),
        ("GY1 1AA", 404, "Guernsey does not elect an MP"),
        ("IM1 1AA", 404, "Isle of Man does not elect an MP"),
        ("BFPO 105", 404, "BFPO addresses do not have an MP"),
    ],
)
def test_find_mp_explains_each_failure(
    client: FlaskClient, postcode: str, status: int, message: str
) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/mp", query_string={"postcode": postcode})
    assert response.status_code == status
    assert message in text(response)
    assert 'name="postcode"' in raw(response)  # the next step: try another


def test_find_mp_terminated_postcode_names_the_year(client: FlaskClient) -> None:
    page = text(client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=AB10AA"))
    assert "June 1996" in page


def test_find_mp_empty_postcode_asks_for_one(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=")
    assert response.status_code == 422
    assert "Please enter your postcode" in text(response)


def test_find_mp_outage_offers_the_650_constituencies(
    client: FlaskClient, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.fail_always(status=503)
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "We cannot look up postcodes right now" in page
    assert (
        page.count('<option value="E')
        + page.count('<option value="S')
        + page.count('<option value="W')
        + page.count('<option value="N')
        == 650
    )
    chosen = text(client.get(f"/campaigns/{CAMPAIGN}/mp?constituency=E14001063"))
    assert "Your MP is Alex Baker" in chosen


def test_find_mp_vacant_seat_says_so(client: FlaskClient, session: Session) -> None:
    seat = session.get(MemberOfParliament, "E14001063")
    assert seat is not None
    seat.member_id = None
    seat.name_display = None
    seat.email = None
    session.commit()
    page = text(client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA"))
    assert "Aldershot has no MP at the moment" in page
    assert "Write this letter" not in page


def test_mp_without_email_gets_a_printable_letter(client: FlaskClient, session: Session) -> None:
    seat = session.get(MemberOfParliament, "E14001063")
    assert seat is not None
    seat.email = None
    session.commit()
    page = text(client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA"))
    assert "does not publish an email address" in page
    assert "House of Commons" in page
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    assert "Make my printable letter" in text(preview)
    form = page_form(preview.get_data(as_text=True), "/print")
    form.update(subject="A letter", body="Dear Alex Baker,\n\nPlease act.")
    printed = text(client.post(f"/campaigns/{CAMPAIGN}/print", data=form))
    assert "Please act." in printed
    assert "SW1A 0AA" in printed
    assert client.post(f"/campaigns/{CAMPAIGN}/send", data=form).status_code == 422


def test_write_page_asks_for_own_words_with_weight_note(client: FlaskClient) -> None:
    response = client.get(write_page_url(client))
    assert "Write to Alex Baker" in text(response)
    assert "Personal letters carry far more weight than copies" in text(response)
    assert 'name="personal_words"' in raw(response)


def test_write_page_unknown_letter_or_constituency_is_404(client: FlaskClient) -> None:
    url = write_page_url(client)
    assert client.get(url.replace("letter=general", "letter=nope")).status_code == 404
    base = f"/campaigns/{CAMPAIGN}/write"
    # A bare constituency code is not enough: the server's signed choice is.
    assert client.get(f"{base}?letter=general&constituency=E14001063").status_code == 404
    assert client.get(f"{base}?letter=general&recipient=forged").status_code == 404


def test_preview_shows_the_exact_email(client: FlaskClient) -> None:
    form = write_form(client, personal_words="<script>alert(1)</script> {{ 7*7 }} is my plea.")
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ayesha Khan via Stand with the Uyghurs &lt;letters@campaign.example&gt;" in page
    assert "Ayesha Khan &lt;ayesha@example.org&gt;" in page
    assert "Alex Baker &lt;alex.baker.mp@parliament.uk&gt;" in page
    # Without REPLY_DOMAIN there is no copy address, so nothing to explain.
    assert "email-reply-copy" not in page
    assert "reply-notice" not in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} is my plea." in page
    assert "Your constituent on the persecution of the Uyghurs" in page
    # The signature block the MP sees (the hidden fields carry the address too, so look
    # inside the block itself).
    block = re.search(r'<pre class="signature">(.*?)</pre>', page, re.S)
    assert block is not None
    lines = block.group(1).splitlines()
    # The campaign's letter closes with the name, so the block does not repeat it.
    assert "Yours sincerely,\nAyesha Khan</textarea>" in page
    assert lines[:4] == [
        "1 High Street",
        "Aldershot",
        "GU11 1AA",
        "ayesha@example.org",
    ]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("personal_words", "", "Please add a few words of your own"),
        ("personal_words", "too short", "in your own words"),
        ("name", "", "Please enter your name"),
        ("email", "not-an-email", "An email address needs an @ in the middle"),
        ("address", "", "Please enter your address"),
        ("postcode", "nonsense", "does not look like a UK postcode"),
        ("postcode", "SW1A 1AA", "This postcode is in Cities of London and Westminster"),
        ("postcode", "SW1A 1AA", "everything you have written is kept"),
        ("name", "Eve\r\nBcc: x@example.org", "one line"),
    ],
)
def test_preview_refuses_bad_input_and_keeps_what_was_written(
    client: FlaskClient, field: str, value: str, message: str
) -> None:
    form = write_form(client, **{field: value})
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert "There is a problem" in page
    assert "My cousin has not been heard from since 2018" in page or field == "personal_words"


def test_preview_refuses_missing_or_forged_csrf_token(client: FlaskClient) -> None:
    for token in ["", "forged.token.value"]:
        response = client.post(
            f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, csrf_token=token)
        )
        assert response.status_code == 422
        assert "could not be verified" in text(response)


def test_preview_refuses_cross_site_origin(client: FlaskClient) -> None:
    response = client.post(
        f"/campaigns/{CAMPAIGN}/preview",
        data=write_form(client),
        headers={"Origin": "https://evil.example"},
    )
    assert response.status_code == 422
    assert "from our own site" in text(response)


def test_preview_accepts_same_origin_without_cookies(client: FlaskClient) -> None:
    form = write_form(client)
    client.delete_cookie("session")
    response = client.post(
        f"/campaigns/{CAMPAIGN}/preview", data=form, headers={"Origin": "http://localhost"}
    )
    assert response.status_code == 200


def _send(client: FlaskClient, **overrides: str) -> object:
    return send_letter(
        client,
        subject="Your constituent on the persecution of the Uyghurs",
        body="Dear Alex Baker,\n\nMy own edited letter.\n\nYours sincerely,\nAyesha",
        **overrides,
    )


def _confirm_link(app: Flask, session: Session, letter: Letter) -> str:
    note = session.scalars(
        select(Notification).where(
            Notification.letter_id == letter.id,
            Notification.kind == NotificationKind.CONFIRMATION,
        )
    ).one()
    email = compose_notification(note, app.config["SETTINGS"])
    match = re.search(r"http://localhost(/letters/confirm/\S+)", email.text)
    assert match, email.text
    return match.group(1)


@pytest.mark.parametrize("campaign_cache_seconds", [0, 60])
def test_send_confirm_and_thank(
    client: FlaskClient, app: Flask, session: Session, campaign_cache_seconds: int
) -> None:
    # With the cache on, every page reads the process's shared, detached campaign copy.
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], campaign_cache_seconds=campaign_cache_seconds
    )
    response = _send(client)
    assert response.status_code == 303  # type: ignore[attr-defined]
    check = text(client.get(response.headers["Location"]))  # type: ignore[attr-defined]
    assert "Your letter has not been sent yet" in check

    letter = session.scalars(select(Letter)).one()
    assert letter.state == LetterState.AWAITING_CONFIRMATION
    assert letter.body_text.startswith("Dear Alex Baker,\n\nMy own edited letter.")
    assert letter.sender_postcode == "GU11 1AA"

    link = _confirm_link(app, session, letter)
    landing = client.get(link)
    assert landing.status_code == 200
    assert "Confirm and send my letter" in text(landing)
    session.expire_all()
    assert session.get(Letter, letter.id).state == LetterState.AWAITING_CONFIRMATION  # type: ignore[union-attr]

    confirmed = client.post(link, data={"csrf_token": csrf_token(landing.get_data(as_text=True))})
    assert confirmed.status_code == 303
    thanks_page = client.get(confirmed.headers["Location"])
    thanks = text(thanks_page)
    assert "your letter is on its way" in thanks
    assert "1 letter sent so far" in thanks
    assert "https://wa.me/?text=" in raw(thanks_page)
    assert f"Or copy this link: http://localhost/campaigns/{CAMPAIGN}" in thanks
    session.expire_all()
    assert session.get(Letter, letter.id).state == LetterState.QUEUED  # type: ignore[union-attr]
    assert client.get(f"/campaigns/{CAMPAIGN}/count.json").get_json()["total"] == 1

    # The link is single use: following it again confirms nothing more.
    again = client.get(link)
    assert again.status_code == 303
    assert len(session.scalars(select(Signature)).all()) == 1


def test_second_letter_from_same_person_is_refused_only_at_its_link(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    _send(client)
    first = session.scalars(select(Letter)).one()
    link = _confirm_link(app, session, first)
    landing = client.get(link).get_data(as_text=True)
    client.post(link, data={"csrf_token": csrf_token(landing)})
    # The form answers as for any address: whoever types it learns nothing of its past.
    again = _send(client, email="AYESHA@example.org")
    fresh = _send(client, email="someone.new@example.org")
    assert again.status_code == fresh.status_code == 303  # type: ignore[attr-defined]
    pages = [
        text(client.get(response.headers["Location"])).replace(address, "ADDRESS")  # type: ignore[attr-defined]
        for response, address in [(again, "AYESHA@example.org"), (fresh, "someone.new@example.org")]
    ]
    assert pages[0] == pages[1]
    second = session.scalars(
        select(Letter).where(Letter.id != first.id).order_by(Letter.id)
    ).first()
    assert second is not None
    second_link = _confirm_link(app, session, second)
    page = client.get(second_link)
    assert "already sent a letter for this campaign" in text(page)
    assert "Confirm and send" not in text(page)
    assert len(session.scalars(select(Signature)).all()) == 1


def test_confirm_with_bad_token_explains(client: FlaskClient) -> None:
    response = client.get("/letters/confirm/not-a-real-token")
    assert response.status_code == 404
    assert "This link does not work" in text(response)


def test_pages_load_no_third_party_resources(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert not re.search(r'(src|href)="https?://', response.get_data(as_text=True))


def test_wrong_method_page_keeps_the_allow_header(client: FlaskClient) -> None:
    response = client.post(f"/campaigns/{CAMPAIGN}")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert "cannot be used that way" in text(response)
    assert response.headers["Content-Type"].startswith("text/html")


def test_send_is_rate_limited_per_address(client: FlaskClient, app: Flask) -> None:
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], rate_limit_send="2 per hour"
    )
    statuses = [
        _send(client, email=f"writer{i}@example.org").status_code  # type: ignore[attr-defined]
        for i in range(3)
    ]
    assert statuses == [303, 303, 429]
    response = _send(client, email="writer9@example.org")
    assert "Too many requests" in text(response)
    assert 0 < int(response.headers["Retry-After"]) <= 3600  # type: ignore[attr-defined]


def test_rate_limit_breach_logs_no_address(
    client: FlaskClient, app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    app.config["SETTINGS"] = dataclasses.replace(
        app.config["SETTINGS"], rate_limit_send="1 per hour"
    )
    caplog.set_level(logging.DEBUG)
    statuses = [
        _send(client, email=f"writer{i}@example.org").status_code  # type: ignore[attr-defined]
        for i in range(2)
    ]
    assert statuses == [303, 429]
    assert "127.0.0.1" not in caplog.text


def test_preview_with_a_broken_campaign_template_keeps_what_was_written(
    client: FlaskClient, session: Session
) -> None:
    template = session.scalars(select(LetterTemplate).where(LetterTemplate.slug == "general")).one()
    template.body_template = "Dear {{ mp_name }}, {{ no_such_thing }}"
    session.commit()
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    assert response.status_code == 500
    page = text(response)
    assert "this letter cannot be prepared right now" in page
    assert "My cousin has not been heard from since 2018" in page


def test_send_limit_is_shared_through_redis_by_every_process(
    database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake
) -> None:
    """With RATE_LIMIT_STORAGE_URL on Redis, two app processes count one address together."""
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    env = {
        "POSTCODES_IO_URL": postcodes_io.url,
        "RATE_LIMIT_STORAGE_URL": url,
        "RATE_LIMIT_SEND": "2 per hour",
    }
    # create_app() points the one database extension at a new engine: restore the fixture's.
    engine, factory = db.engine, db.session_factory
    try:
        first = create_app(make_settings(database_url, tmp_path / "a", env=env), TESTING=True)
        second = create_app(make_settings(database_url, tmp_path / "b", env=env), TESTING=True)
        statuses = []
        for number, application in enumerate([first, second, first]):
            with application.app_context():
                response = _send(application.test_client(), email=f"w{number}@example.org")
                statuses.append(response.status_code)  # type: ignore[attr-defined]
        assert statuses == [303, 303, 429]
    finally:
        db.dispose()
        db.engine, db.session_factory = engine, factory
        redis.Redis.from_url(url).flushdb()
