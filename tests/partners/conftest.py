"""Fixtures for partners: a partner with an allowed origin, and a browser-like form walker."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.models import Partner
from advocacy.partners.services import PartnerDetails, save_partner
from tests.campaigns.conftest import CAMPAIGN, postcodes_io, seeded, settings

__all__ = ["CAMPAIGN", "postcodes_io", "seeded", "settings"]

HOST_ORIGIN = "https://www.example-synagogue.org"
WORDING = "Keep me informed about the social action group's work by email."


@pytest.fixture
def partner(seeded: Flask, session: Session) -> Partner:
    """An active partner whose page may frame the form, with a consent box."""
    created = save_partner(
        session,
        PartnerDetails(
            slug="example-synagogue",
            name="Example Synagogue Social Action",
            website=HOST_ORIGIN,
            allowed_origins=(HOST_ORIGIN,),
            accent_colour="#5a2d82",
            consent_wording=WORDING,
            is_figures_public=True,
        ),
    )
    session.commit()
    return created


@dataclass
class Form:
    """A form as a browser sees it: its method, action and the fields it would submit."""

    method: str
    action: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    checkboxes: dict[str, str] = field(default_factory=dict)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._textarea: str | None = None
        self._links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("method", "get").lower(), a.get("action", "")))
        elif tag == "a" and "href" in a:
            self._links.append(a["href"])
        elif self.forms and tag == "input" and a.get("name"):
            if a.get("type") == "checkbox":
                self.forms[-1].checkboxes[a["name"]] = a.get("value", "on")
                if "checked" in a:
                    self.forms[-1].fields.append((a["name"], a.get("value", "on")))
            elif a.get("type") not in {"submit", "button"}:
                self.forms[-1].fields.append((a["name"], a.get("value", "")))
        elif self.forms and tag == "textarea":
            self._textarea = a.get("name")
            self.forms[-1].fields.append((a["name"], ""))
        elif self.forms and tag == "select" and a.get("name"):
            self.forms[-1].fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self.forms:
            name, value = self.forms[-1].fields[-1]
            self.forms[-1].fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None


def forms(html: str) -> list[Form]:
    """Every form on a page."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def links(html: str) -> list[str]:
    """Every link's href on a page."""
    parser = _Forms()
    parser.feed(html)
    return parser._links


def form_to(html: str, suffix: str) -> Form:
    """The form whose action's path ends with `suffix`."""
    for form in forms(html):
        if urlsplit(form.action).path.endswith(suffix):
            return form
    raise AssertionError(f"no form to ...{suffix}")


def submit(client: FlaskClient, page_url: str, form: Form, **values: str):  # type: ignore[no-untyped-def]
    """Submit a form as a browser would: a GET drops the action's query string."""
    data = dict(form.fields)
    data.update(values)
    action = urljoin(page_url, form.action)
    headers = {"Origin": "http://localhost"}
    if form.method == "get":
        path = urlsplit(action).path
        return client.get(f"{path}?{urlencode(data)}")
    return client.post(action, data=data, headers=headers)
