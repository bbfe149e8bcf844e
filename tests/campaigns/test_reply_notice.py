"""The preview page with reply detection on: both reply addresses and the one sentence."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from advocacy.config import Settings
from tests.campaigns.conftest import CAMPAIGN, write_form
from tests.conftest import make_settings
from tests.fakes.postcodes_io import PostcodesIoFake


@pytest.fixture
def settings(database_url: str, tmp_path: Path, postcodes_io: PostcodesIoFake) -> Settings:
    """Settings with reply detection on."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={"POSTCODES_IO_URL": postcodes_io.url, "REPLY_DOMAIN": "replies.campaign.example"},
    )


@pytest.mark.usefixtures("seeded")
def test_preview_says_the_campaign_learns_only_that_the_mp_replied(client: FlaskClient) -> None:
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    page = response.get_data(as_text=True)
    first = re.search(r'class="email-reply-to">([^<]*)<', page)
    copy = re.search(r'class="email-reply-copy">[^<]*&lt;(reply\+[0-9a-f]{48}@[^&]+)&gt;', page)
    assert first is not None
    assert "ayesha@example.org" in first.group(1)
    assert copy is not None
    assert copy.group(1).endswith("@replies.campaign.example")
    notice = re.sub(r"<[^>]+>", "", re.search(r'reply-notice">(.*?)</p>', page, re.S).group(1))
    assert notice == (
        "Your MP's reply comes to you; the copy address tells the campaign only that your MP "
        "replied and when, never what was said."
    )
