"""The embedded journey: framing, attribution carried signed, the consent box, the script."""

from __future__ import annotations

import gzip
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns import services as campaign_services
from advocacy.extensions import db
from advocacy.models import Letter, Partner, PartnerConsent, Signature
from advocacy.partners.attribution import Attribution, sign
from tests.partners.conftest import CAMPAIGN, HOST_ORIGIN, WORDING, form_to, links, submit

pytestmark = pytest.mark.usefixtures("seeded")


def frame_ancestors(response: object) -> str:
    """The frame-ancestors directive of a response's CSP."""
    csp = response.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    match = re.search(r"frame-ancestors ([^;]+)", csp)
    assert match
    return match.group(1).strip()


def html(response: object) -> str:
    """A response's HTML."""
    return str(response.get_data(as_text=True))  # type: ignore[attr-defined]


def enter(client: FlaskClient, query: str) -> tuple[str, object]:
    """Open the embed entry and follow it to the first page; return that URL and page."""
    entry = client.get(f"/embed/{CAMPAIGN}?{query}")
    assert entry.status_code == 303
    url = entry.headers["Location"]
    return url, client.get(url)


def walk_to_preview(client: FlaskClient, query: str) -> tuple[str, object]:
    """Postcode, MP, write, preview, all inside the embed; return the preview URL and page."""
    url, page = enter(client, query)
    found = submit(client, url, form_to(html(page), "/mp"), postcode="GU11 1AA")
    assert found.status_code == 200, html(found)
    write_url = next(h for h in links(html(found)) if "/write" in h)
    write = client.get(write_url)
    assert write.status_code == 200
    preview_form = form_to(html(write), "/preview")
    preview = submit(
        client,
        write_url,
        preview_form,
        name="Miriam Cohen",
        email="miriam@example.org",
        address="3 Leeds Road\nAldershot",
        postcode="GU11 1AA",
        personal_words="Our community remembers what silence costs. Please speak up for them.",
    )
    assert preview.status_code == 200, html(preview)
    return preview_form.action, preview


def test_pages_outside_the_embed_may_be_framed_by_nobody(client: FlaskClient) -> None:
    for path in ("/", f"/campaigns/{CAMPAIGN}", f"/campaigns/{CAMPAIGN}/count.json"):
        assert frame_ancestors(client.get(path, follow_redirects=True)) == "'none'"


def test_embed_may_be_framed_only_by_the_partners_origins(
    client: FlaskClient, partner: Partner
) -> None:
    _, page = enter(client, f"partner={partner.slug}&source=newsletter&origin={HOST_ORIGIN}")
    assert frame_ancestors(page) == f"'self' {HOST_ORIGIN}"
    body = html(page)
    assert f'data-parent-origin="{HOST_ORIGIN}"' in body
    assert "with Example Synagogue Social Action" in body
    assert "embed/frame.js" in body
    assert "site-header" not in body


def test_an_origin_the_partner_did_not_allow_is_never_talked_to(
    client: FlaskClient, partner: Partner
) -> None:
    _, page = enter(client, f"partner={partner.slug}&origin=https://evil.example")
    assert "data-parent-origin" not in html(page)
    assert "https://evil.example" not in frame_ancestors(page)


def test_an_unknown_partner_gets_an_unbranded_embed_framable_by_the_app_only(
    client: FlaskClient,
) -> None:
    _, page = enter(client, "partner=nobody-we-know&origin=https://x.example")
    assert frame_ancestors(page) == "'self'"
    assert "embed-partner" not in html(page)


def test_the_whole_journey_stays_in_the_frame_and_credits_the_partner(
    client: FlaskClient, session: Session, partner: Partner
) -> None:
    preview_url, preview = walk_to_preview(
        client, f"partner={partner.slug}&source=march-newsletter&origin={HOST_ORIGIN}"
    )
    assert frame_ancestors(preview) == f"'self' {HOST_ORIGIN}"
    assert WORDING in unescape(html(preview))
    send_form = form_to(html(preview), "/send")
    assert "partner_consent" not in dict(send_form.fields), "the box must start unticked"
    sent = submit(client, preview_url, send_form, partner_consent="y")
    assert sent.status_code == 303
    assert "via=" in sent.headers["Location"], "the next page stays in the frame"

    letter = session.scalars(select(Letter)).one()
    assert (letter.partner_id, letter.source) == (partner.id, "march-newsletter")
    consent = session.scalars(select(PartnerConsent)).one()
    assert consent.wording.text == WORDING
    assert consent.wording.version == 1
    assert consent.confirmed_at is None

    settings = client.application.config["SETTINGS"]
    campaign_services.confirm(db.session, db.session.get(Letter, letter.id), settings)
    db.session.commit()
    session.expire_all()
    signature = session.scalars(select(Signature)).one()
    assert (signature.partner_id, signature.source) == (partner.id, "march-newsletter")
    assert session.scalars(select(PartnerConsent)).one().confirmed_at is not None


def test_no_consent_is_kept_unless_the_box_is_ticked(
    client: FlaskClient, session: Session, partner: Partner
) -> None:
    preview_url, preview = walk_to_preview(client, f"partner={partner.slug}")
    assert submit(client, preview_url, form_to(html(preview), "/send")).status_code == 303
    assert session.scalars(select(Letter)).one().partner_id == partner.id
    assert session.scalars(select(PartnerConsent)).all() == []


def test_an_edited_attribution_credits_nobody(
    client: FlaskClient, session: Session, partner: Partner
) -> None:
    preview_url, preview = walk_to_preview(client, f"partner={partner.slug}&source=a")
    send_form = form_to(html(preview), "/send")
    token = parse_qs(urlsplit(send_form.action).query)["via"][0]
    forged = token[:-3] + ("AAA" if token[-3:] != "AAA" else "BBB")
    # A person (or a rival page) editing the signed value cannot move the credit.
    send_form.action = send_form.action.replace(token, forged)
    sent = submit(client, preview_url, send_form)
    assert sent.status_code == 303
    assert session.scalars(select(Letter)).one().partner_id is None


def test_a_value_signed_for_another_purpose_is_refused(app: Flask, partner: Partner) -> None:
    from advocacy.partners.attribution import verify

    good = sign(app.config["SECRET_KEY"], Attribution(partner=partner.slug))
    assert verify(app.config["SECRET_KEY"], good).partner == partner.slug
    assert verify("another-key", good).partner == ""
    assert verify(app.config["SECRET_KEY"], "not-a-token").partner == ""


def test_the_journey_sets_no_cookie_inside_the_frame(client: FlaskClient, partner: Partner) -> None:
    entry = client.get(f"/embed/{CAMPAIGN}?partner={partner.slug}&origin={HOST_ORIGIN}")
    page = client.get(entry.headers["Location"])
    for response in (entry, page, client.get("/embed.js")):
        assert "Set-Cookie" not in response.headers


def test_embed_script_is_small_and_talks_only_to_its_own_frame(client: FlaskClient) -> None:
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.get_data()
    assert len(gzip.compress(script, 9)) <= 2048
    source = script.decode()
    assert "event.origin !== app" in source
    assert "event.source !== frame.contentWindow" in source
    assert "document.cookie" not in source
    response.close()


def test_partner_accent_colour_comes_as_a_style_sheet(
    client: FlaskClient, partner: Partner
) -> None:
    css = client.get(f"/embed/partner/{partner.slug}.css")
    assert css.mimetype == "text/css"
    assert "--accent: #5a2d82" in css.get_data(as_text=True)
    assert client.get("/embed/partner/unknown.css").get_data(as_text=True) == ""


def test_counter_is_framable_and_shows_public_figures(client: FlaskClient) -> None:
    response = client.get(f"/embed/{CAMPAIGN}/counter")
    assert response.status_code == 200
    assert frame_ancestors(response) == "*"
    assert "letters to MPs so far" in html(response)
    assert "public" in response.headers["Cache-Control"]


def test_a_plain_link_with_a_source_tag_credits_the_letter(
    client: FlaskClient, session: Session, partner: Partner
) -> None:
    page = client.get(f"/campaigns/{CAMPAIGN}?partner={partner.slug}&source=News<letter>!")
    assert frame_ancestors(page) == "'none'", "the full site is never framed"
    found = submit(client, "/", form_to(html(page), "/mp"), postcode="GU11 1AA")
    write_url = next(h for h in links(html(found)) if "/write" in h)
    write = client.get(write_url)
    preview = submit(
        client,
        write_url,
        form_to(html(write), "/preview"),
        name="Sam Lee",
        email="sam@example.org",
        address="9 Hill Road\nAldershot",
        postcode="GU11 1AA",
        personal_words="I read about this in the newsletter and want my MP to act on it.",
    )
    send_form = form_to(html(preview), "/send")
    assert submit(client, write_url, send_form).status_code == 303
    letter = session.scalars(select(Letter)).one()
    assert (letter.partner_id, letter.source) == (partner.id, "news-letter")
