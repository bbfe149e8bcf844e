"""The confirmation link's page: the whole letter, "Don't send it", and one letter per person."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns import services
from advocacy.config import Settings
from advocacy.delivery.compose import LETTER_KIND
from advocacy.delivery.personal_data import ERASED_BY_RETENTION, erase_letters
from advocacy.extensions import db
from advocacy.models import (
    Campaign,
    CampaignStatus,
    Letter,
    LetterState,
    Notification,
    Partner,
    PartnerConsent,
    Signature,
    utcnow,
)
from tests.campaigns.conftest import (
    CAMPAIGN,
    after_reading,
    csrf_token,
    page_form,
    send_letter,
)
from tests.campaigns.test_journey import _confirm_link, raw, text
from tests.delivery.helpers import make_worker
from tests.fakes.sendgrid import FakeSendGrid
from tests.kinds.conftest import fake_sendgrid, settings
from tests.partners.conftest import form_to, partner, submit
from tests.partners.test_embed import walk_to_preview

__all__ = ["fake_sendgrid", "partner", "settings"]

pytestmark = pytest.mark.usefixtures("seeded")

SITE = "Stand with the Uyghurs"
DASH = "\N{EN DASH}"
MP_EMAIL = "alex.baker.mp@parliament.uk"
SUBJECT = "Your constituent on the persecution of the Uyghurs"


def drain(app: Flask, fake: FakeSendGrid) -> None:
    """Let a worker send everything that is due through the fake."""
    make_worker(app.config["SETTINGS"], fake).run(once=True)


def to_the_mp(fake: FakeSendGrid) -> list[str]:
    """The plain text of every letter the MP received."""
    return [m.content("text/plain") or "" for m in fake.accepted_for("kind", LETTER_KIND)]


def write(client: FlaskClient, words: str, email: str = "ayesha@example.org") -> None:
    """Write, preview and send a letter (awaiting its link) whose body holds `words`."""
    body = f"Dear Alex Baker,\n\n{words}\n\nYours sincerely,\nAyesha Khan"
    sent = send_letter(client, subject=SUBJECT, body=body, email=email)
    assert sent.status_code == 303, raw(sent)


def letter_with(session: Session, words: str) -> Letter:
    """The saved letter whose body holds `words`."""
    session.expire_all()
    return session.scalars(select(Letter).where(Letter.body_text.contains(words))).one()


def two_letters(client: FlaskClient, app: Flask, session: Session) -> tuple[Letter, Letter, str]:
    """Two letters from one person, written before either was confirmed, and the second's link."""
    write(client, "My first letter, in my own words.")
    write(client, "My second letter, written again.")
    first, second = letter_with(session, "first letter"), letter_with(session, "second letter")
    return first, second, _confirm_link(app, session, second)


def title(response: object) -> str:
    """The text of a page's <title>."""
    match = re.search(r"<title>(.*?)</title>", raw(response), re.S)
    assert match, "no <title>"
    return re.sub(r"\s+", " ", match.group(1)).strip()


def confirm(client: FlaskClient, link: str) -> None:
    """Open a confirmation link and press its button, as the person would."""
    landing = client.get(link)
    assert landing.status_code == 200, raw(landing)
    done = client.post(link, data={"csrf_token": csrf_token(raw(landing))})
    assert done.status_code == 303, raw(done)


def assert_erased(session: Session, letter: Letter, reason: str) -> None:
    """The letter is stopped and keeps nothing that could find its writer."""
    session.expire_all()
    row = session.get(Letter, letter.id)
    assert row is not None
    assert row.state == LetterState.EXPIRED
    assert row.failure_reason == reason
    assert row.purged_at is not None
    personal = (
        row.sender_name,
        row.sender_email,
        row.sender_address,
        row.sender_postcode,
        row.personal_text,
        row.subject,
        row.body_text,
        row.email_digest,
    )
    assert personal == ("",) * 8
    notes = session.scalars(select(Notification).where(Notification.letter_id == row.id))
    assert list(notes) == []


# The confirm page -----------------------------------------------------------------------------


def test_confirm_page_shows_the_whole_letter_as_the_mp_receives_it(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    write(client, "My cousin has not been heard from since 2018.")
    letter = letter_with(session, "My cousin")
    page = client.get(_confirm_link(app, session, letter))
    assert page.status_code == 200
    html = raw(page)
    assert "Ayesha Khan via Stand with the Uyghurs &lt;letters@campaign.example&gt;" in html
    assert '<dd class="email-reply-to">Ayesha Khan &lt;ayesha@example.org&gt;</dd>' in html
    assert f"Alex Baker &lt;{MP_EMAIL}&gt;" in html
    assert f'<dd class="email-subject">{SUBJECT}</dd>' in html
    body = re.search(r'<pre class="letter-body">(.*?)</pre>', html, re.S)
    assert body is not None
    assert body.group(1) == (
        "Dear Alex Baker,\n\nMy cousin has not been heard from since 2018.\n\n"
        "Yours sincerely,\nAyesha Khan"
    )
    block = re.search(r'<pre class="signature">(.*?)</pre>', html, re.S)
    assert block is not None
    assert block.group(1).splitlines()[:4] == [
        "1 High Street",
        "Aldershot",
        "GU11 1AA",
        "ayesha@example.org",
    ]
    assert "Confirm and send my letter" in text(page)
    assert "Don't send it" in text(page)
    assert title(page) == f"Confirm your letter {DASH} {SITE}"
    assert page.headers["Cache-Control"] == "no-store"


# Don't send it --------------------------------------------------------------------------------


def test_dont_send_it_erases_the_letter_and_it_is_never_sent(
    client: FlaskClient, app: Flask, session: Session, fake_sendgrid: FakeSendGrid
) -> None:
    write(client, "Words that must never reach anyone.")
    letter = letter_with(session, "must never reach")
    link = _confirm_link(app, session, letter)
    landing = client.get(link)
    confirm_token = csrf_token(raw(landing))
    withdraw = page_form(raw(landing), "/withdraw")

    gone = client.post(f"{link}/withdraw", data=withdraw)
    assert gone.status_code == 303
    assert gone.headers["Location"] == f"/campaigns/{CAMPAIGN}/withdrawn"
    page = client.get(gone.headers["Location"])
    assert "Your letter will not be sent" in text(page)
    assert "We have erased what you wrote" in text(page)
    assert f'href="/campaigns/{CAMPAIGN}"' in raw(page)
    assert title(page) == f"Your letter will not be sent {DASH} {SITE}"
    assert_erased(session, letter, services.WITHDRAWN_REASON)
    assert services.is_withdrawn(session.get(Letter, letter.id))  # type: ignore[arg-type]

    # The link, opened again, says what happened; pressing confirm now does nothing.
    again = client.get(link)
    assert again.status_code == 410
    assert "Your letter will not be sent" in text(again)
    assert "expired" not in text(again)
    assert again.headers["Cache-Control"] == "no-store"
    late = client.post(link, data={"csrf_token": confirm_token})
    assert late.status_code == 410
    assert "Your letter will not be sent" in text(late)
    assert "on its way" not in text(late)
    assert session.scalars(select(Signature)).all() == []

    # Nothing went anywhere: not the letter, not its confirmation email. A neighbour's
    # letter, confirmed after, goes through, so the queue was really drained.
    drain(app, fake_sendgrid)
    assert fake_sendgrid.accepted == []
    write(client, "A neighbour writes too, in her own words.", email="neighbour@example.org")
    confirm(client, _confirm_link(app, session, letter_with(session, "A neighbour")))
    drain(app, fake_sendgrid)
    [delivered] = to_the_mp(fake_sendgrid)
    assert "A neighbour writes too" in delivered
    assert not any("must never reach" in str(m.payload) for m in fake_sendgrid.accepted)


def test_dont_send_it_twice_lands_on_the_same_page(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    write(client, "I pressed the button twice by mistake.")
    link = _confirm_link(app, session, letter_with(session, "twice by mistake"))
    withdraw = page_form(raw(client.get(link)), "/withdraw")
    assert client.post(f"{link}/withdraw", data=withdraw).status_code == 303
    again = client.post(f"{link}/withdraw", data=withdraw)
    assert again.status_code == 303
    assert again.headers["Location"] == f"/campaigns/{CAMPAIGN}/withdrawn"


def test_dont_send_it_needs_its_own_form_token(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    write(client, "A forged post must not erase my letter.")
    letter = letter_with(session, "A forged post")
    link = _confirm_link(app, session, letter)
    confirm_token = csrf_token(raw(client.get(link)))
    for token in ["", "forged.token.value", confirm_token]:
        refused = client.post(f"{link}/withdraw", data={"csrf_token": token})
        assert refused.status_code == 400, token
        assert "could not be verified" in text(refused)
        assert refused.headers["Cache-Control"] == "no-store"
    kept = letter_with(session, "A forged post")
    assert kept.state == LetterState.AWAITING_CONFIRMATION
    assert kept.sender_email == "ayesha@example.org"


def test_dont_send_it_erases_the_consent_given_to_a_partner(
    client: FlaskClient, app: Flask, session: Session, partner: Partner
) -> None:
    preview_url, preview = walk_to_preview(client, f"partner={partner.slug}")
    sent = submit(client, preview_url, form_to(raw(preview), "/send"), partner_consent="y")
    assert sent.status_code == 303
    letter = session.scalars(select(Letter)).one()
    [consent] = session.scalars(select(PartnerConsent)).all()
    assert consent.email == "miriam@example.org"
    link = _confirm_link(app, session, letter)
    withdraw = page_form(raw(client.get(link)), "/withdraw")
    assert client.post(f"{link}/withdraw", data=withdraw).status_code == 303
    session.expire_all()
    assert session.scalars(select(PartnerConsent)).all() == []
    assert_erased(session, letter, services.WITHDRAWN_REASON)


def test_the_withdrawn_page_offers_the_other_live_campaigns(
    client: FlaskClient, session: Session
) -> None:
    for slug, status in [("free-ilham", CampaignStatus.LIVE), ("secret", CampaignStatus.DRAFT)]:
        session.add(
            Campaign(
                slug=slug, title=f"Campaign {slug}", summary="Why.", sender_name="X", status=status
            )
        )
    session.commit()
    page = client.get(f"/campaigns/{CAMPAIGN}/withdrawn")
    assert page.status_code == 200
    assert 'href="/campaigns/free-ilham"' in raw(page)
    assert "Campaign secret" not in text(page)
    assert client.get("/campaigns/nope/withdrawn").status_code == 404


# One letter per person ------------------------------------------------------------------------


def test_a_second_letters_link_shows_what_was_sent_before_and_erases_it(
    client: FlaskClient, app: Flask, session: Session, fake_sendgrid: FakeSendGrid
) -> None:
    first, second, second_link = two_letters(client, app, session)
    confirm(client, _confirm_link(app, session, first))
    drain(app, fake_sendgrid)
    delivered = letter_with(session, "first letter")
    delivered.transition(LetterState.DELIVERED)
    session.commit()

    page = client.get(second_link)
    assert page.status_code == 200
    seen = text(page)
    assert "Each person sends one letter per campaign" in seen
    assert "This letter will not be sent" in seen
    assert "Confirm and send my letter" not in seen
    earlier = re.search(r'<section class="card earlier-letter">(.*?)</section>', raw(page), re.S)
    assert earlier is not None
    shown = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", earlier.group(1)))
    assert "Alex Baker" in shown
    assert "Aldershot" in shown
    assert SUBJECT in shown
    sent_at = delivered.sent_at
    assert sent_at is not None
    assert f"{sent_at.day} {sent_at.strftime('%B %Y')}" in shown
    assert "Yes, it reached Alex Baker's inbox" in shown
    # Nothing more of either letter than that.
    for private in ["first letter", "second letter", "ayesha@example.org", "1 High Street"]:
        assert private not in raw(page)
    assert "https://wa.me/?text=" in raw(page)
    assert f"Or copy this link: http://localhost/campaigns/{CAMPAIGN}" in seen
    assert title(page) == f"You have already sent a letter {DASH} {SITE}"
    assert page.headers["Cache-Control"] == "no-store"
    assert_erased(session, second, services.REFUSED_REASON)

    # Opened again, the link still says why; the MP only ever had the first letter.
    again = client.get(second_link)
    assert again.status_code == 200
    assert "This letter will not be sent" in text(again)
    drain(app, fake_sendgrid)
    [received] = to_the_mp(fake_sendgrid)
    assert "My first letter" in received


def test_confirming_a_second_letter_is_refused_with_the_same_page(
    client: FlaskClient, app: Flask, session: Session, fake_sendgrid: FakeSendGrid
) -> None:
    first, second, second_link = two_letters(client, app, session)
    # The second page was opened while nothing had been confirmed yet.
    second_token = csrf_token(raw(client.get(second_link)))
    confirm(client, _confirm_link(app, session, first))

    refused = client.post(second_link, data={"csrf_token": second_token})
    assert refused.status_code == 409
    seen = text(refused)
    assert "This letter will not be sent" in seen
    assert "The letter you sent before" in seen
    assert SUBJECT in seen
    assert "Not yet: it is on its way" in seen
    assert "https://wa.me/?text=" in raw(refused)
    assert refused.headers["Cache-Control"] == "no-store"
    assert_erased(session, second, services.REFUSED_REASON)
    assert len(session.scalars(select(Signature)).all()) == 1

    drain(app, fake_sendgrid)
    [received] = to_the_mp(fake_sendgrid)
    assert "My first letter" in received


def test_a_purged_earlier_letter_shows_nothing_of_it(
    client: FlaskClient, app: Flask, session: Session
) -> None:
    first, second, second_link = two_letters(client, app, session)
    confirm(client, _confirm_link(app, session, first))
    # The first letter's details are gone; its count (the signature) still stands.
    erase_letters(session, [first.id], utcnow(), ERASED_BY_RETENTION)
    session.commit()

    page = client.get(second_link)
    assert page.status_code == 200
    assert "This letter will not be sent" in text(page)
    assert "The letter you sent before" not in text(page)
    assert "earlier-letter" not in raw(page)
    assert "https://wa.me/?text=" in raw(page)
    assert_erased(session, second, services.REFUSED_REASON)


# Two requests for one letter at once ----------------------------------------------------------
# Each request reads the letter, then acts on it. These tests let the other request finish in
# between, as it does when a person double-clicks or presses "Don't send it" while the confirm
# button's request is still running.


@dataclass
class Race:
    """This request's client and session, and another request's session, for one letter."""

    client: FlaskClient
    app: Flask
    session: Session
    other: Session
    sendgrid: FakeSendGrid

    @property
    def settings(self) -> Settings:
        return self.app.config["SETTINGS"]  # type: ignore[no-any-return]

    def written(self, words: str) -> tuple[Letter, Letter]:
        """A new letter holding `words`, and the other request's copy, read while it waits."""
        write(self.client, words)
        letter = letter_with(self.session, words)
        copy = self.other.get(Letter, letter.id)
        assert copy is not None
        assert copy.state == LetterState.AWAITING_CONFIRMATION
        return letter, copy

    def delivered(self) -> list[str]:
        """What the MP received once the queue was drained."""
        drain(self.app, self.sendgrid)
        return to_the_mp(self.sendgrid)


@pytest.fixture
def race(
    client: FlaskClient, app: Flask, session: Session, fake_sendgrid: FakeSendGrid
) -> Iterator[Race]:
    with Session(db.engine) as other:
        yield Race(client, app, session, other, fake_sendgrid)


def test_a_letter_withdrawn_meanwhile_is_never_confirmed(race: Race) -> None:
    letter, confirming = race.written("I pressed both buttons at once.")
    services.withdraw(race.session, letter, services.WITHDRAWN_REASON)

    outcome = services.confirm(race.other, confirming, race.settings)
    assert not outcome.newly_confirmed
    assert services.is_withdrawn(confirming)
    assert race.session.scalars(select(Signature)).all() == []
    assert_erased(race.session, letter, services.WITHDRAWN_REASON)
    assert race.delivered() == []
    assert race.sendgrid.accepted == []  # not even its confirmation email


@pytest.mark.parametrize("second", ["withdraw", "confirm again"])
def test_a_letter_confirmed_meanwhile_is_sent_whole_and_once(second: str, race: Race) -> None:
    letter, stale = race.written("I pressed a button, then another.")
    assert services.confirm(race.session, letter, race.settings).newly_confirmed

    if second == "withdraw":
        with pytest.raises(services.LetterNotWaiting):
            services.withdraw(race.other, stale, services.WITHDRAWN_REASON)
    else:
        # A double click: not taken for a second letter from the same person, to be erased.
        assert not services.confirm(race.other, stale, race.settings).newly_confirmed
    # The letter is counted once and goes out whole.
    assert len(race.session.scalars(select(Signature)).all()) == 1
    [received] = race.delivered()
    assert "then another" in received


def test_an_erased_letter_is_never_given_a_new_address(race: Race) -> None:
    letter, changing = race.written("I fixed my address and withdrew at once.")
    services.withdraw(race.session, letter, services.WITHDRAWN_REASON)

    with pytest.raises(services.LetterNotWaiting):
        services.change_address(
            race.other, changing, "ayesha.k@example.org", race.app.config["SECRET_KEY"]
        )
    with pytest.raises(services.LetterNotWaiting):
        services.resend_confirmation(race.other, changing)
    assert_erased(race.session, letter, services.WITHDRAWN_REASON)


def test_pressing_confirm_as_the_letter_is_withdrawn_says_it_will_not_be_sent(
    race: Race, monkeypatch: pytest.MonkeyPatch
) -> None:
    letter, _ = race.written("Both buttons, one after the other.")
    link = _confirm_link(race.app, race.session, letter)
    token = csrf_token(raw(race.client.get(link)))
    after_reading(
        monkeypatch,
        race.other,
        lambda other, copy: services.withdraw(other, copy, services.WITHDRAWN_REASON),
    )

    late = race.client.post(link, data={"csrf_token": token})
    assert late.status_code == 410
    assert "Your letter will not be sent" in text(late)
    assert race.session.scalars(select(Signature)).all() == []
    assert_erased(race.session, letter, services.WITHDRAWN_REASON)
