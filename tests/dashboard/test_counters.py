"""The counters follow every change of a letter's state, however it is made."""

from __future__ import annotations

import random
from datetime import timedelta

from flask.testing import FlaskCliRunner
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from advocacy.dashboard.counters import rebuild, snapshot
from advocacy.delivery.queue import expire_unconfirmed
from advocacy.models import (
    LETTER_TRANSITIONS,
    Campaign,
    CampaignCount,
    Dimension,
    Letter,
    LetterState,
    utcnow,
)
from tests.dashboard.conftest import DELIVERED_PATH, make_campaign, make_letter

S = LetterState


def _row(session: Session, campaign: Campaign, dimension: Dimension, item: str) -> CampaignCount:
    session.expire_all()
    row = session.get(CampaignCount, (campaign.id, dimension, item))
    assert row is not None
    return row


def test_counters_follow_a_letter_from_written_to_delivered(
    session: Session, campaign: Campaign
) -> None:
    letter = make_letter(session, campaign, source="newsletter")
    row = _row(session, campaign, Dimension.CAMPAIGN, "")
    assert (row.written, row.state_awaiting, row.confirmed) == (1, 1, 0)

    for state in DELIVERED_PATH:
        letter.transition(state)
        session.commit()

    row = _row(session, campaign, Dimension.CAMPAIGN, "")
    assert (row.written, row.confirmed, row.sent, row.state_delivered) == (1, 1, 1, 1)
    assert (row.state_awaiting, row.state_queued, row.state_sent) == (0, 0, 0)
    for dimension, item in [
        (Dimension.CONSTITUENCY, "E14001337"),
        (Dimension.MEMBER, "4001"),
        (Dimension.PARTNER, ""),
        (Dimension.SOURCE, "newsletter"),
    ]:
        assert _row(session, campaign, dimension, item).state_delivered == 1


def test_counters_follow_bulk_updates_that_bypass_the_orm(
    session: Session, campaign: Campaign
) -> None:
    old = utcnow() - timedelta(days=30)
    for _ in range(3):
        make_letter(session, campaign, created_at=old, awaiting_confirmation_at=old)

    expired = expire_unconfirmed(session)
    session.commit()

    assert expired == 3
    row = _row(session, campaign, Dimension.CAMPAIGN, "")
    assert (row.written, row.state_awaiting, row.state_expired, row.confirmed) == (3, 0, 3, 0)


def test_counters_ignore_moves_between_queued_and_sending(
    session: Session, campaign: Campaign
) -> None:
    letter = make_letter(session, campaign, (S.QUEUED,))
    before = snapshot(session)
    for state in (S.SENDING, S.QUEUED, S.SENDING):
        letter.transition(state)
        session.commit()
    assert snapshot(session) == before
    assert _row(session, campaign, Dimension.CAMPAIGN, "").state_queued == 1


def test_signatures_count_per_campaign_and_per_day(session: Session, campaign: Campaign) -> None:
    day = utcnow().replace(hour=23, minute=30) - timedelta(days=2)
    make_letter(session, campaign, (S.QUEUED,), sign=True, created_at=day)
    make_letter(session, campaign, (S.QUEUED,), sign=True)

    assert _row(session, campaign, Dimension.CAMPAIGN, "").signatures == 2
    assert _row(session, campaign, Dimension.DAY, day.date().isoformat()).signatures == 1
    assert _row(session, campaign, Dimension.DAY, utcnow().date().isoformat()).signatures == 1


def _random_walk(session: Session, campaigns: list[Campaign], rng: random.Random) -> None:
    for i in range(60):
        letter = make_letter(
            session,
            rng.choice(campaigns),
            sign=rng.random() < 0.5,
            constituency_code=rng.choice(["E14001337", "S14000021", None]),
            recipient_member_id=rng.choice([4001, 4002, None]),
            source=rng.choice(["newsletter", "event", None]),
            email_digest=f"walk{i:060d}",
        )
        for _ in range(rng.randint(0, 7)):
            choices = sorted(LETTER_TRANSITIONS[letter.state])
            if not choices:
                break
            letter.transition(rng.choice(choices))
            session.commit()


def test_counters_equal_a_recount_after_random_changes(session: Session) -> None:
    campaigns = [make_campaign(session, "one"), make_campaign(session, "two")]
    _random_walk(session, campaigns, random.Random(20261202))
    # And a bulk change of many rows in one statement.
    session.execute(
        update(Letter)
        .where(Letter.state == S.AWAITING_CONFIRMATION)
        .values(state=S.EXPIRED, expired_at=utcnow())
    )
    session.commit()
    kept = snapshot(session)

    rebuild(session)
    session.commit()

    assert kept
    assert snapshot(session) == kept


def test_rebuild_repairs_counters_that_were_lost(
    session: Session, campaign: Campaign, runner: FlaskCliRunner
) -> None:
    for _ in range(2):
        make_letter(session, campaign, DELIVERED_PATH, sign=True)
    expected = snapshot(session)
    session.execute(update(CampaignCount).values(written=0, state_delivered=0, signatures=0))
    session.commit()

    result = runner.invoke(args=["figures", "rebuild"])

    assert result.exit_code == 0, result.output
    assert "rows" in result.output
    session.expire_all()
    assert snapshot(session) == expected
    assert session.scalars(select(Letter)).all()
