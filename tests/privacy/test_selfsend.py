""" "Send it from my own email": the letter opens in the person's mailbox; we keep none of it."""

from __future__ import annotations

import dataclasses
import html
import re
from urllib.parse import parse_qs, unquote, urlsplit

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.models import Campaign, Letter, Notification, Signature
from advocacy.privacy.selfsend import compose_links
from tests.campaigns.conftest import CAMPAIGN, csrf_token
from tests.privacy.test_erasure_dump import WRITER, find_in_dump
from tests.words.conftest import campaign, postcodes_io, previewed, seeded, settings

__all__ = ["campaign", "postcodes_io", "seeded", "settings"]

MP_EMAIL = "alex.baker.mp@parliament.uk"


def _preview(client: FlaskClient) -> str:
    form = previewed(
        client,
        name=WRITER.name,
        email=WRITER.email,
        address=WRITER.address,
        postcode="GU11 1AA",
        personal_words=WRITER.words,
    )
    page = client.post(
        f"/campaigns/{CAMPAIGN}/preview",
        data={k: v for k, v in form.items() if k not in {"subject", "body"}},
    )
    return page.get_data(as_text=True)


def _href(page: str, kind: str) -> str:
    match = re.search(rf'data-compose="{kind}" href="([^"]+)"', page)
    assert match, kind
    return html.unescape(match.group(1))


def test_compose_links_carry_the_whole_letter() -> None:
    links = compose_links(
        to="mp@parliament.uk",
        subject="Stop forced labour & act",
        body="Dear MP,\n\nPlease act.",
        signature="Ayesha Khan\n1 High Street\nayesha@example.org",
    )
    mailto = urlsplit(links.mailto)
    assert mailto.scheme == "mailto"
    assert mailto.path == "mp@parliament.uk"
    query = parse_qs(mailto.query)
    assert query["subject"] == ["Stop forced labour & act"]
    # RFC 6068: line breaks in a mailto body are CRLF.
    assert "%0D%0A%0D%0APlease%20act." in links.mailto
    assert query["body"][0].replace("\r\n", "\n").startswith("Dear MP,\n\nPlease act.\n\nAyesha")
    gmail = parse_qs(urlsplit(links.gmail).query)
    assert gmail["to"] == ["mp@parliament.uk"]
    assert gmail["su"] == ["Stop forced labour & act"]
    assert gmail["body"][0].endswith("ayesha@example.org\n")
    outlook = urlsplit(links.outlook)
    assert outlook.netloc == "outlook.live.com"
    assert parse_qs(outlook.query)["subject"] == ["Stop forced labour & act"]


def test_preview_offers_the_letter_in_the_persons_own_mailbox(
    client: FlaskClient, campaign: Campaign
) -> None:
    page = _preview(client)
    assert "Or send it from your own email" in page
    assert "This way keeps less" in page
    mailto = _href(page, "mailto")
    assert mailto.startswith(f"mailto:{MP_EMAIL}?subject=")
    body = unquote(mailto.split("&body=", 1)[1])
    assert WRITER.words in body.replace("\r\n", "\n")
    assert WRITER.email in body
    # No "sent via" footer: it comes from the person, not from us.
    assert "Sent via" not in body
    assert _href(page, "gmail").startswith("https://mail.google.com/mail/?view=cm")
    assert _href(page, "outlook").startswith("https://outlook.live.com/mail/0/deeplink/compose?")


def _count_me(client: FlaskClient, page: str, tick: bool) -> str:
    form = re.search(r'<form method="post" action="([^"]+count-me)".*?</form>', page, re.S)
    assert form
    data = {"csrf_token": csrf_token(form.group(0)), "constituency": "E14001063"}
    if tick:
        data["count_me"] = "y"
    # Only these fields: the count-me form carries nothing the person wrote.
    fields = set(re.findall(r'name="([^"]+)"', form.group(0)))
    assert fields == {"csrf_token", "constituency", "count_me"}
    answer = client.post(form.group(1), data=data)
    assert answer.status_code == 303
    return client.get(answer.headers["Location"]).get_data(as_text=True)


def test_count_me_counts_the_constituency_and_keeps_nothing_else(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    before = session.scalar(select(func.count(Signature.id)))
    thanks = _count_me(client, _preview(client), tick=True)
    assert "We counted you" in thanks
    [counted] = session.scalars(select(Signature).where(Signature.is_self_sent.is_(True))).all()
    assert counted.constituency_code == "E14001063"
    assert counted.campaign_id == campaign.id
    assert counted.email_digest.startswith("self-")
    assert session.scalar(select(func.count(Signature.id))) == before + 1
    assert session.scalars(select(Letter)).all() == []
    assert session.scalars(select(Notification)).all() == []
    # Nothing of them at all (the postcode's constituency alone is cached, linked to nobody,
    # as on any look-up).
    nameless = dataclasses.replace(WRITER, postcode=WRITER.name)
    assert find_in_dump(session, nameless) == []


def test_not_ticking_count_me_keeps_nothing_at_all(
    client: FlaskClient, session: Session, campaign: Campaign
) -> None:
    thanks = _count_me(client, _preview(client), tick=False)
    assert "We kept nothing" in thanks
    assert session.scalars(select(Signature)).all() == []
