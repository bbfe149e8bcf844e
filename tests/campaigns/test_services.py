"""Unit tests of the journey's services: rendering, counting, submitting, confirming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from advocacy.campaigns import services
from advocacy.campaigns.seed import seed_campaigns
from advocacy.config import Settings
from advocacy.delivery.personal_data import ERASED_ON_REQUEST, erase_letters
from advocacy.directory.service import Representative
from advocacy.models import (
    Campaign,
    CampaignStatus,
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    Signature,
    utcnow,
)

REP = Representative(
    constituency_code="E14001063",
    constituency_name="Aldershot",
    member_id=5173,
    name="Alex Baker",
    party="Labour",
    email="alex.baker.mp@parliament.uk",
    postal_address="House of Commons\nLondon\nSW1A 0AA",
)
AUTHOR = services.Author(
    name="Ayesha Khan",
    email="Ayesha@Example.org",
    address="1 High Street\nAldershot",
    postcode="GU11 1AA",
    personal_words="My cousin has been missing since 2018. {{ 7 * 7 }} {% raw %}",
)


@pytest.fixture
def campaign(session: Session) -> Campaign:
    """The seeded Uyghur campaign."""
    seed_campaigns(session)
    session.commit()
    return session.scalars(select(Campaign)).one()


def _letter(campaign: Campaign, settings: Settings, author: services.Author = AUTHOR) -> Letter:
    template = campaign.templates[0]
    return services.build_letter(
        campaign=campaign,
        template=template,
        rep=REP,
        author=author,
        subject=services.draft_subject(template, REP, author),
        body=services.draft_body(template, REP, author),
        secret_key=settings.secret_key,
    )


def test_seed_campaigns_is_idempotent(session: Session) -> None:
    assert seed_campaigns(session) == (1, 0)
    session.commit()
    assert seed_campaigns(session) == (0, 1)
    session.commit()
    campaign = session.scalars(select(Campaign)).one()
    assert [t.slug for t in campaign.templates] == ["general", "womens-rights"]


def test_draft_body_inserts_personal_words_literally(campaign: Campaign) -> None:
    body = services.draft_body(campaign.templates[0], REP, AUTHOR)
    assert body.startswith("Dear Alex Baker,")
    assert "{{ 7 * 7 }} {% raw %}" in body
    assert "49" not in body
    assert body.rstrip().endswith("Ayesha Khan")
    assert "Aldershot" in body


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ mp_name.__class__.__init__.__globals__ }}",
    ],
)
def test_render_letter_text_sandbox_refuses_unsafe_templates(source: str) -> None:
    with pytest.raises(services.JourneyError):
        services.render_letter_text(source, mp_name="x")


def test_render_letter_text_reports_undefined_variables() -> None:
    with pytest.raises(services.JourneyError, match="error"):
        services.render_letter_text("{{ nope }}")


def test_submit_saves_letter_and_queues_confirmation(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    letter = services.submit(session, _letter(campaign, settings))
    session.expire_all()
    saved = session.get(Letter, letter.id)
    assert saved is not None
    assert saved.state == LetterState.AWAITING_CONFIRMATION
    assert saved.recipient_email == "alex.baker.mp@parliament.uk"
    notes = session.scalars(select(Notification).where(Notification.letter_id == letter.id)).all()
    assert [n.kind for n in notes] == [NotificationKind.CONFIRMATION]


def test_confirm_records_one_signature_and_queues_letter(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    letter = services.submit(session, _letter(campaign, settings))
    first = services.confirm(session, letter, settings)
    again = services.confirm(session, letter, settings)
    assert first.newly_confirmed
    assert not again.newly_confirmed
    assert letter.state == LetterState.QUEUED
    assert letter.queued_at is not None
    count = services.signature_count(session, campaign, ttl=0)
    assert (count.total, count.last_24h, count.goal) == (1, 1, 10_000)


def test_a_second_letter_after_confirmation_is_saved_and_refused_at_its_link(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    letter = services.submit(session, _letter(campaign, settings))
    services.confirm(session, letter, settings)
    other = services.Author(**{**AUTHOR.__dict__, "email": " ayesha@example.ORG "})
    # Saved like any letter, so submitting tells nobody whether the address has signed.
    second = services.submit(session, _letter(campaign, settings, other))
    assert second.state == LetterState.AWAITING_CONFIRMATION
    with pytest.raises(services.AlreadySigned):
        services.confirm(session, second, settings)
    assert len(session.scalars(select(Signature)).all()) == 1


def test_confirm_refuses_the_second_of_two_unconfirmed_letters(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    first = services.submit(session, _letter(campaign, settings))
    second = services.submit(session, _letter(campaign, settings))
    services.confirm(session, first, settings)
    with pytest.raises(services.AlreadySigned):
        services.confirm(session, second, settings)
    session.expire_all()
    assert session.get(Letter, second.id).state == LetterState.AWAITING_CONFIRMATION  # type: ignore[union-attr]
    assert len(session.scalars(select(Signature)).all()) == 1


def test_submit_refuses_closed_campaign(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    campaign.status = CampaignStatus.CLOSED
    session.commit()
    with pytest.raises(services.CampaignClosed):
        services.submit(session, _letter(campaign, settings))


def test_confirming_after_the_campaign_closed_changes_nothing_and_holds_nothing(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    letter = services.submit(session, _letter(campaign, settings))
    campaign.status = CampaignStatus.CLOSED
    session.commit()
    loaded = session.get(Letter, letter.id)
    assert loaded is not None
    with pytest.raises(services.CampaignClosed):
        services.confirm(session, loaded, settings)
    assert session.scalars(select(Signature)).all() == []
    # It still awaits its link, so the writer can still withdraw it.
    services.withdraw(session, loaded, services.WITHDRAWN_REASON)
    assert services.is_withdrawn(loaded)


def test_signature_count_counts_last_day_separately(session: Session, campaign: Campaign) -> None:
    session.add_all(
        [
            Signature(campaign_id=campaign.id, email_digest="a" * 64),
            Signature(
                campaign_id=campaign.id,
                email_digest="b" * 64,
                created_at=utcnow() - timedelta(days=2),
            ),
        ]
    )
    session.commit()
    count = services.signature_count(session, campaign, ttl=0)
    assert count.as_dict() == {"total": 2, "last_24h": 1, "goal": 10_000, "by_partner": {}}


def test_signature_count_is_cached_until_a_confirmation(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    assert services.signature_count(session, campaign, ttl=60).total == 0
    session.add(Signature(campaign_id=campaign.id, email_digest="c" * 64))
    session.commit()
    assert services.signature_count(session, campaign, ttl=60).total == 0
    letter = services.submit(session, _letter(campaign, settings))
    services.confirm(session, letter, settings)
    assert services.signature_count(session, campaign, ttl=60).total == 2


def test_get_campaign_cached_copy_is_served_without_a_query(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    first = services.get_campaign(session, campaign.slug, ttl=60)
    assert first is not None
    session.close()
    statements: list[str] = []
    engine = session.get_bind()

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    from sqlalchemy import event

    event.listen(engine, "before_cursor_execute", count)
    try:
        cached = services.get_campaign(session, campaign.slug, ttl=60)
        assert cached is not None
        assert [t.slug for t in cached.templates] == ["general", "womens-rights"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []
    letter = services.submit(session, _letter(cached, settings))
    assert letter.id is not None
    # The shared copy never joins a request's session, not even through its letter.
    assert object_session(cached) is None
    assert object_session(letter) is None
    assert services.get_campaign(session, campaign.slug, ttl=60) is cached
    assert services.get_campaign(session, "no-such-campaign", ttl=60) is None


def test_submit_refuses_more_pending_letters_than_the_cap(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    for _ in range(services.MAX_PENDING_PER_PERSON):
        services.submit(session, _letter(campaign, settings))
    with pytest.raises(services.TooManyPending):
        services.submit(session, _letter(campaign, settings))
    other = services.Author(**{**AUTHOR.__dict__, "email": "someone.else@example.org"})
    assert services.submit(session, _letter(campaign, settings, other)).id is not None


def test_earlier_letter_is_never_found_among_erased_letters(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    # A confirmed letter from someone else, since erased: its hash is blank, as is that of
    # every letter erased or withdrawn, so a blank hash must match nobody.
    other = services.Author(**{**AUTHOR.__dict__, "email": "someone.else@example.org"})
    gone = services.submit(session, _letter(campaign, settings, other))
    services.confirm(session, gone, settings)
    erase_letters(session, [gone.id], utcnow(), ERASED_ON_REQUEST)
    session.commit()
    saved = services.submit(session, _letter(campaign, settings))
    letter = session.get(Letter, saved.id)
    assert letter is not None
    services.withdraw(session, letter, services.WITHDRAWN_REASON)
    assert letter.email_digest == ""
    assert services.earlier_letter(session, letter) is None
    assert not services.has_signed(session, letter)
