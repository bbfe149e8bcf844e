"""What every page of the journey owes a person: its own title, sound markup, a way on."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import (
    Campaign,
    CampaignTarget,
    Letter,
    Notification,
    NotificationKind,
    NotificationState,
    Target,
    TargetKind,
)
from advocacy.security import make_confirmation_token
from tests.campaigns.conftest import CAMPAIGN, send_letter, write_form, write_page_url
from tests.fakes.postcodes_io import PostcodesIoFake

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
        f"/campaigns/{CAMPAIGN}/mp?postcode=JE2+3AB": (
            f"Jersey does not elect an MP {DASH} {SITE}"
        ),
        f"/campaigns/{CAMPAIGN}/thanks": f"Thank you {DASH} {SITE}",
        f"/campaigns/{CAMPAIGN}/withdrawn": f"Your letter will not be sent {DASH} {SITE}",
        "/letters/confirm/not-a-token": f"This link does not work {DASH} Write to your MP",
    }
    pages[write_page_url(client)] = f"Write your letter {DASH} {SITE}"
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
    write = client.get(write_page_url(client))
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=write_form(client))
    for response in (write, preview):
        html = response.get_data(as_text=True)
        assert '="None"' not in html
        assert 'autocomplete="email"' in html or "Check your letter" in html


def text(response: object) -> str:
    """A response's visible text: tags removed, whitespace collapsed."""
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def hrefs(response: object) -> list[str]:
    """Every link target on a page, unescaped."""
    html = response.get_data(as_text=True)  # type: ignore[attr-defined]
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', html)]


def test_crown_dependency_page_speaks_plainly(client: FlaskClient) -> None:
    page = text(client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=IM1+1AA"))
    assert "The Isle of Man does not elect an MP" in page
    assert "The Isle of Man is a Crown Dependency" in page
    assert "Member of the House of Keys" in page
    assert "fixed targets" not in page
    assert "also writes to" not in page  # this campaign has no other targets


def test_crown_dependency_page_links_to_the_campaigns_other_targets(
    client: FlaskClient, session: Session
) -> None:
    campaign = session.scalars(select(Campaign).where(Campaign.slug == CAMPAIGN)).one()
    target = Target(kind=TargetKind.EMAIL, name="The Foreign Secretary", role="FCDO")
    session.add(target)
    session.flush()
    session.add(CampaignTarget(campaign_id=campaign.id, target_id=target.id))
    session.commit()
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=JE2+3AB&partner=uyghur-aid")
    assert "This campaign also writes to The Foreign Secretary (FCDO)" in text(response)
    assert f"/campaigns/{CAMPAIGN}?partner=uyghur-aid" in hrefs(response)


def test_terminated_postcode_page_links_to_royal_mails_finder(client: FlaskClient) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=AB1+0AA")
    assert "https://www.royalmail.com/find-a-postcode" in hrefs(response)


def test_outage_page_offers_to_try_the_same_postcode_again(
    client: FlaskClient, postcodes_io: PostcodesIoFake
) -> None:
    postcodes_io.fail_always(status=503)
    response = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA&partner=uyghur-aid")
    assert response.status_code == 503
    assert "Try GU11 1AA again" in text(response)
    assert f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA&partner=uyghur-aid" in hrefs(response)
    # In development, the page says why an offline machine always lands here.
    assert "Running this on your own computer?" in text(response)


def test_error_pages_offer_a_way_on(client: FlaskClient) -> None:
    missing = client.get(write_page_url(client).replace("letter=general", "letter=nope"))
    assert missing.status_code == 404
    assert title(missing.get_data(as_text=True)) == f"Page not found {DASH} {SITE}"
    assert f"/campaigns/{CAMPAIGN}" in hrefs(missing)
    assert "Go to the start of Stand with the Uyghurs" in text(missing)
    unknown = client.get("/campaigns/nope")
    assert "Go to the start of" not in text(unknown)
    assert "/" in hrefs(unknown)


@pytest.mark.parametrize("postcode", ["75008", "10115", "K1A 0B1", "D02 X285"])
def test_a_foreign_postcode_gets_the_page_for_people_abroad(
    client: FlaskClient, postcode: str
) -> None:
    response = client.get(f"/campaigns/{CAMPAIGN}/mp", query_string={"postcode": postcode})
    assert response.status_code == 422
    page = text(response)
    assert "That looks like a postcode from outside the UK" in page
    assert "If you live outside the UK" in page
    assert "does not look like a UK postcode" not in page


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("ayesha@", "Something is missing after the @ in your email address"),
        ("@example.org", "Something is missing before the @ in your email address"),
        ("ayesha.example.org", "An email address needs an @ in the middle"),
        ("ayesha@@example.org", "An email address has only one @"),
        ("ayesha@example", "The part after the @ needs a dot"),
        ("ayesha @example.org", "An email address has no spaces"),
        ("ayesha@example..org", "a dot in the wrong place"),
        ("ayesha(x)@example.org", "a character or a part that email addresses cannot have"),
    ],
)
def test_email_mistakes_get_our_own_words(client: FlaskClient, email: str, message: str) -> None:
    form = write_form(client, email=email)
    response = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert response.status_code == 422
    page = text(response)
    assert message in page
    # Never the library's sentence pasted in ("There must be something after the @-sign.").
    assert "@-sign" not in page
    assert "There must be" not in page


def test_every_link_of_the_journey_carries_the_postcode_and_the_partner(
    client: FlaskClient,
) -> None:
    mp = client.get(f"/campaigns/{CAMPAIGN}/mp?postcode=GU11+1AA&partner=uyghur-aid")
    links = [h for h in hrefs(mp) if h.startswith(f"/campaigns/{CAMPAIGN}")]
    assert len(links) >= 4  # the brand, "Not right?", and a link per letter
    assert all("partner=uyghur-aid" in h for h in links), links
    writes = [h for h in links if "/write?" in h]
    assert len(writes) == 2
    assert all("postcode=GU11+1AA" in h for h in writes)

    write = client.get(writes[0])
    [another] = [h for h in hrefs(write) if "/mp?" in h]
    assert "postcode=GU11+1AA" in another
    assert "partner=uyghur-aid" in another
    assert 'name="partner" type="hidden" value="uyghur-aid"' in write.get_data(as_text=True)
    # Back on the MP page from there, nothing has been lost.
    again = client.get(another)
    assert all(
        "partner=uyghur-aid" in h for h in hrefs(again) if h.startswith(f"/campaigns/{CAMPAIGN}")
    )
    assert "GU11 1AA" in text(again)

    preview = client.post(
        f"/campaigns/{CAMPAIGN}/preview", data=write_form(client, partner="uyghur-aid")
    )
    assert all(
        "partner=uyghur-aid" in h
        for h in hrefs(preview)
        if h.startswith(f"/campaigns/{CAMPAIGN}") and "#" not in h
    )


def test_a_different_address_postcode_finds_its_mp_and_keeps_the_letter(
    client: FlaskClient,
) -> None:
    words = "My aunt was taken from her home in Kashgar and we do not know where she is."
    form = write_form(client, postcode="sw1a 1aa", personal_words=words)
    refused = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert refused.status_code == 422
    assert "Find the MP for SW1A 1AA" in text(refused)
    moved = client.post(f"/campaigns/{CAMPAIGN}/write/postcode", data=form)
    assert moved.status_code == 200
    page = text(moved)
    assert "Write to Rachel Blake" in page
    assert "The MP for SW1A 1AA is Rachel Blake" in page
    html = moved.get_data(as_text=True)
    assert words in html
    assert 'value="Ayesha Khan"' in html
    assert "There is a problem" not in page
    # The page now writes to the new MP, and the letter goes through.
    kept = dict(re.findall(r'name="(recipient)" type="hidden" value="([^"]*)"', html))
    assert kept["recipient"] != form["recipient"]
    form.update(kept, postcode="SW1A 1AA")
    preview = client.post(f"/campaigns/{CAMPAIGN}/preview", data=form)
    assert preview.status_code == 200
    assert "Dear Rachel Blake" in text(preview)


def _sent(client: FlaskClient, **overrides: str) -> str:
    """Send a letter; return the check-email page's HTML."""
    response = send_letter(
        client,
        subject="Your constituent on the persecution of the Uyghurs",
        body="Dear Alex Baker,\n\nPlease act.\n\nYours sincerely,\nAyesha Khan",
        **overrides,
    )
    assert response.status_code == 303
    return str(client.get(response.headers["Location"]).get_data(as_text=True))


def _form_fields(html: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to `action`."""
    block = html.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"', block))


def _confirmations(session: Session) -> list[Notification]:
    session.expire_all()
    return list(
        session.scalars(
            select(Notification).where(Notification.kind == NotificationKind.CONFIRMATION)
        )
    )


def test_check_email_names_the_address_and_resends_within_limits(
    client: FlaskClient, session: Session
) -> None:
    html = _sent(client)
    assert "We have sent an email with a link to ayesha@example.org" in re.sub(r"<[^>]+>", "", html)
    resend = f"/campaigns/{CAMPAIGN}/check-email/resend"
    fields = _form_fields(html, resend)
    # The first email is still queued: asking again sends no second copy.
    assert client.post(resend, data=fields).status_code == 303
    assert len(_confirmations(session)) == 1
    for note in _confirmations(session):
        note.state = NotificationState.SENT
    session.commit()
    again = client.post(resend, data=fields)
    assert again.status_code == 303
    assert "We are sending the link again" in text(client.get(again.headers["Location"]))
    assert len(_confirmations(session)) == 2
    for note in _confirmations(session):
        note.state = NotificationState.SENT
    session.commit()
    assert client.post(resend, data=fields).status_code == 303
    for note in _confirmations(session):
        note.state = NotificationState.SENT
    session.commit()
    refused = client.post(resend, data=fields)
    assert refused.status_code == 409
    assert "we will not send it again" in text(refused)
    assert len(_confirmations(session)) == 3


def test_check_email_fixes_a_wrong_address(client: FlaskClient, session: Session) -> None:
    html = _sent(client, email="ayesha@exmaple.org")
    letter = session.scalars(select(Letter)).one()
    old_link = (
        f"/letters/confirm/{make_confirmation_token(letter.public_id, letter.idempotency_key)}"
    )
    change = f"/campaigns/{CAMPAIGN}/check-email/change"
    fields = _form_fields(html, change)
    bad = client.post(change, data={**fields, "email": "ayesha@"})
    assert bad.status_code == 422
    assert "Something is missing after the @" in text(bad)
    moved = client.post(change, data={**fields, "email": "ayesha@example.org"})
    assert moved.status_code == 303
    page = re.sub(r"<[^>]+>", "", client.get(moved.headers["Location"]).get_data(as_text=True))
    assert "link to ayesha@example.org" in page
    assert "Links sent to the old address no longer work" in page
    session.expire_all()
    letter = session.scalars(select(Letter)).one()
    assert letter.sender_email == "ayesha@example.org"
    states = sorted(n.state for n in _confirmations(session))
    assert states == [NotificationState.CANCELLED, NotificationState.QUEUED]
    assert client.get(old_link).status_code == 404  # the mistyped address's link is dead


def test_check_email_without_a_valid_token_shows_no_address(client: FlaskClient) -> None:
    _sent(client)
    response = client.get(f"/campaigns/{CAMPAIGN}/check-email?letter=forged")
    assert response.status_code == 200
    assert "ayesha@example.org" not in response.get_data(as_text=True)
    assert "Send the link again" not in text(response)
    assert response.headers["Cache-Control"] == "no-store"


def test_check_email_page_has_each_id_once(client: FlaskClient) -> None:
    # Two forms each with a CSRF token and a letter field: a label or a screen reader
    # looking one up by id must find one element.
    ids = re.findall(r'\sid="([^"]+)"', _sent(client))
    assert sorted(ids) == sorted(set(ids))
