"""What every page of the journey owes a person: its own title, sound markup, a way on."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.campaigns.conftest import CAMPAIGN, write_form

pytestmark = pytest.mark.usefixtures("seeded")

SITE = "Stand with the Uyghurs"
DASH = "\N{EN DASH}"


def title(html: str) -> str:
    """The text of a page's <title>."""
    match = re.search(r"<title>(.*?)</title>", html, re.S)
    assert match, "no <title>"
    return re.sub(r"\s+", " ", match.group(1)).strip()


def test_every_journey_page_has_its_own_title(client: FlaskClient) -> None:
    pages = {
        f"/campaigns/{CAMPAIGN}": SITE,
        f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA": f"Your MP and your letter {DASH} {SITE}",
        f"/campaigns/{CAMPAIGN}/write?letter=general&constituency=E14001063": (
            f"Write your letter {DASH} {SITE}"
        ),
        f"/campaigns/{CAMPAIGN}/mp?postcode=JE2+3AB": (
            f"Jersey does not elect an MP {DASH} {SITE}"
        ),
        f"/campaigns/{CAMPAIGN}/thanks": f"Thank you {DASH} {SITE}",
        "/letters/confirm/not-a-token": f"This link does not work {DASH} Write to your MP",
    }
    for url, expected in pages.items():
        assert title(client.get(url).get_data(as_text=True)) == expected, url
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    assert title(preview.get_data(as_text=True)) == f"Check your letter {DASH} {SITE}"


def test_a_page_with_errors_says_so_in_its_title(client: FlaskClient) -> None:
    form = write_form(client, name="")
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert response.status_code == 422
    assert title(response.get_data(as_text=True)) == f"Error: Write your letter {DASH} {SITE}"


def test_no_attribute_is_rendered_as_the_text_none(client: FlaskClient) -> None:
    write = client.get(f"/campaigns/{CAMPAIGN}/write?letter=general&constituency=E14001063")
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    for response in (write, preview):
        html = response.get_data(as_text=True)
        assert '="None"' not in html
        assert 'autocomplete="email"' in html or "Check your letter" in html
