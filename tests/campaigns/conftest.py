"""Fixtures for the journey: a fake postcodes.io and a seeded app pointing at it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from advocacy.campaigns import services
from advocacy.campaigns.seed import seed_campaigns
from advocacy.config import Settings
from advocacy.directory.snapshot import load_snapshot
from advocacy.models import Letter, LetterState
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake

CAMPAIGN = "stand-with-the-uyghurs"


@pytest.fixture(scope="session")
def postcodes_io() -> Iterator[PostcodesIoFake]:
    """One fake postcodes.io for the session, serving the recorded postcodes."""
    with PostcodesIoFake(recorded=True) as fake:
        fake.add_postcode("GU11 1AA", constituency_code="E14001063")  # Aldershot
        fake.add_postcode("PE12 6AA", constituency_code="E14001487")  # South Holland...
        fake.add_terminated("AB1 0AA", year_terminated=1996, month_terminated=6)
        yield fake


@pytest.fixture(autouse=True)
def _fresh_fake(postcodes_io: PostcodesIoFake) -> None:
    postcodes_io.clear_faults()
    postcodes_io.clear_requests()


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Settings pointing the app at the fake postcodes.io."""
    return make_settings(
        database_url, tmp_path / "instance", env={"POSTCODES_IO_URL": postcodes_io.url}
    )


@pytest.fixture
def seeded(app: Flask, session: Session) -> Flask:
    """The app with the built-in campaigns and the shipped MP directory."""
    seed_campaigns(session)
    load_snapshot(session)
    session.commit()
    return app


def csrf_token(html: str) -> str:
    """The signed CSRF token in a page's form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)


class _Forms(HTMLParser):
    """Every form on a page: its action and its named inputs' values, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, list[tuple[str, str]]]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), []))
        elif self.forms and tag == "input" and values.get("name"):
            if values.get("type") not in {"submit", "button"}:
                self.forms[-1][1].append((values["name"], values.get("value", "")))
        elif self.forms and tag == "textarea" and values.get("name"):
            self._textarea = values["name"]
            self.forms[-1][1].append((values["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            name, value = self.forms[-1][1][-1]
            self.forms[-1][1][-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self._textarea is not None:
            name, value = self.forms[-1][1][-1]
            # A textarea's first newline (CR LF as WTForms writes it) belongs to the markup.
            self.forms[-1][1][-1] = (name, value.removeprefix("\r").removeprefix("\n"))
            self._textarea = None


def page_form(html: str, action_suffix: str) -> dict[str, str]:
    """The fields of the form on a page whose action ends with `action_suffix`."""
    parser = _Forms()
    parser.feed(html)
    for action, fields in parser.forms:
        if action.split("?")[0].endswith(action_suffix):
            return dict(fields)
    raise AssertionError(f"no form posting to ...{action_suffix}")


def write_page_url(client: FlaskClient, postcode: str = "GU11 1AA", letter: str = "general") -> str:
    """The write page's address, as the MP page links to it after a postcode look-up."""
    page = client.get(f"/campaigns/{CAMPAIGN}/mp", query_string={"postcode": postcode})
    assert page.status_code == 200, page.get_data(as_text=True)
    links = re.findall(r'href="([^"]*/write\?[^"]*)"', page.get_data(as_text=True))
    chosen = [html.unescape(link) for link in links if f"letter={letter}" in link]
    assert chosen, "no write link on the MP page"
    return chosen[0]


def write_form(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """A complete, valid write-page form, reached as a browser does.

    The MP is the one for `lookup_postcode` (Aldershot's GU11 1AA unless given), found on
    the MP page as a person would; the page's signed recipient carries it.
    """
    lookup = overrides.pop("lookup_postcode", "GU11 1AA")
    page = client.get(write_page_url(client, postcode=lookup))
    assert page.status_code == 200
    form = page_form(page.get_data(as_text=True), "/preview")
    form.update(
        {
            "name": "Ayesha Khan",
            "email": "ayesha@example.org",
            "address": "1 High Street\nAldershot",
            "postcode": "gu111aa",
            "personal_words": "My cousin has not been heard from since 2018. Please help.",
        }
    )
    form.update(overrides)
    return form


def preview_form(client: FlaskClient, **overrides: str) -> dict[str, str]:
    """The form the preview page holds, after a valid write form was posted to it.

    Overrides apply to the preview form (what a person, or a forger, would post to send).
    """
    page = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    assert page.status_code == 200, page.get_data(as_text=True)
    form = page_form(page.get_data(as_text=True), "/send")
    form.update(overrides)
    return form


def send_letter(
    client: FlaskClient, *, subject: str | None = None, body: str | None = None, **overrides: str
) -> TestResponse:
    """Write (with overrides), preview, and send the form the preview page holds."""
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, **overrides))
    assert preview.status_code == 200, preview.get_data(as_text=True)
    form = page_form(preview.get_data(as_text=True), "/send")
    if subject is not None:
        form["subject"] = subject
    if body is not None:
        form["body"] = body
    return client.post(f"/campaigns/{CAMPAIGN}/send", data=form)


def visible_text(response: TestResponse) -> str:
    """A page's text as a person reads it: tags removed, whitespace collapsed."""
    markup = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def after_reading(
    monkeypatch: pytest.MonkeyPatch, other: Session, act: Callable[[Session, Letter], object]
) -> None:
    """Let another request `act` on each waiting letter just after this request has read it.

    Two requests for one letter at once (a double click, two buttons pressed together): this
    one found the letter awaiting its link, and the other finishes before this one acts.
    """
    find = services.find_letter_for_token

    def find_then_lose_the_race(session: Session, token: str, *args: str) -> Letter | None:
        letter = find(session, token, *args)
        if letter is not None and letter.state == LetterState.AWAITING_CONFIRMATION:
            copy = other.get(Letter, letter.id)
            assert copy is not None
            act(other, copy)
        return letter

    monkeypatch.setattr(services, "find_letter_for_token", find_then_lose_the_race)
