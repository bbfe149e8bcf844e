"""Any input to any public form gives a page (2xx, 3xx or 4xx), never a server error.

Each form starts from what its page really holds (valid tokens, so the checks behind them
run too), and hypothesis replaces any of its fields with hostile text: control characters
(NUL included, which PostgreSQL refuses), bidi overrides, huge values, template syntax.
Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import Letter
from tests.campaigns.conftest import CAMPAIGN, page_form, send_letter, write_form
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake

pytestmark = pytest.mark.usefixtures("seeded")

NASTY = [
    "",
    "\x00",
    "Ayesha\x00Khan",
    "\x1b[2J\x07\x7f\x85\x9b\v\f",
    "\u202eilA\u200b\ufeff",
    "\r\nBcc: x@example.org",
    "{{ 7 * 7 }}{% raw %}",
    "'; DROP TABLE letters; --",
    "M1 11AE",
    "a@\u0430\u0440\u0440\u04cf\u0435.com",
    "E14001063",
    "E14001063\x00",
    "stand-with-the-uyghurs",
    "x" * 5000,
    "\ud7ff\U0010ffff",
    "%00%ZZ",
]
VALUES = st.one_of(st.sampled_from(NASTY), st.text(max_size=200))
EXAMPLES = examples(
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Limits high enough that hostile input meets the forms, not the rate limiter."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "POSTCODES_IO_URL": postcodes_io.url,
            "RATE_LIMIT_SEND": "1000000 per hour",
            "RATE_LIMIT_LOOKUP": "1000000 per minute",
        },
    )


def _mutated(base: dict[str, str], extra_keys: list[str]) -> st.SearchStrategy[dict[str, str]]:
    keys = st.sampled_from(sorted({*base, *extra_keys}))
    return st.dictionaries(keys, VALUES, max_size=4).map(lambda changes: {**base, **changes})


def _ok(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))


@pytest.fixture
def pages(client: FlaskClient, session: Session) -> dict[str, dict[str, str]]:
    """The real forms of every page: write, preview, check-email and confirm."""
    write = write_form(client)
    preview_page = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write)
    preview = page_form(preview_page.get_data(as_text=True), "/send")
    sent = send_letter(client)
    check = client.get(sent.headers["Location"]).get_data(as_text=True)
    resend = page_form(check, "/check-email/resend")
    change = page_form(check, "/check-email/change")
    return {"write": write, "preview": preview, "resend": resend, "change": change}


POSTS = {
    "preview": "write",
    "write/postcode": "write",
    "words": "write",
    "words.json": "write",
    "send": "preview",
    "print": "preview",
    "check-email/resend": "resend",
    "check-email/change": "change",
}


@pytest.mark.parametrize("action", sorted(POSTS))
def test_hostile_posts_never_give_a_server_error(
    client: FlaskClient, pages: dict[str, dict[str, str]], action: str
) -> None:
    base = pages[POSTS[action]]

    @EXAMPLES
    @given(form=_mutated(base, ["words_page", "subject", "body", "constituency"]))
    def post(form: dict[str, str]) -> None:
        _ok(client.post(f"/campaigns/{CAMPAIGN}/{action}", data=form))

    post()


GETS = {
    "mp": ["postcode", "constituency", "recipient", "partner"],
    "write": ["letter", "recipient", "postcode", "partner"],
    "": ["partner"],
    "check-email": ["letter", "sent"],
    "thanks": ["review"],
}


@pytest.mark.parametrize("page", sorted(GETS))
def test_hostile_query_strings_never_give_a_server_error(client: FlaskClient, page: str) -> None:
    @EXAMPLES
    @given(args=st.dictionaries(st.sampled_from(GETS[page]), VALUES, max_size=4))
    def get(args: dict[str, str]) -> None:
        path = f"/campaigns/{CAMPAIGN}" + (f"/{page}" if page else "")
        _ok(client.get(path, query_string=args))

    get()


def test_hostile_api_and_confirmation_links_never_give_a_server_error(
    client: FlaskClient,
) -> None:
    @EXAMPLES
    @given(key=st.sampled_from(["postcode", "constituency"]), value=VALUES, token=VALUES)
    def call(key: str, value: str, token: str) -> None:
        _ok(client.get("/api/mp", query_string={key: value}))
        safe = re.sub(r"[/?#%]", "", token) or "x"
        _ok(client.get(f"/letters/confirm/{safe}"))
        _ok(client.post(f"/letters/confirm/{safe}", data={"csrf_token": value}))

    call()


def test_nothing_hostile_was_saved(
    client: FlaskClient, session: Session, pages: dict[str, dict[str, str]]
) -> None:
    """After hostile sends, no control character sits in any saved letter."""

    @EXAMPLES
    @given(form=_mutated(pages["preview"], []))
    def post(form: dict[str, str]) -> None:
        _ok(client.post(f"/campaigns/{CAMPAIGN}/send", data=form))

    post()
    session.expire_all()
    for letter in session.scalars(select(Letter)):
        for text in (letter.sender_name, letter.subject, letter.sender_email):
            assert not re.search(r"[\x00-\x1f\x7f-\x9f]", text)
        for text in (letter.personal_text, letter.sender_address, letter.body_text):
            assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", text)
