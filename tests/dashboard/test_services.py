"""Figures, breakdowns and the day series, read from the counters."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from advocacy.dashboard import services
from advocacy.directory.snapshot import load_snapshot
from advocacy.models import Campaign, LetterState, Partner, utcnow
from tests.dashboard.conftest import DELIVERED_PATH, make_campaign, make_letter

S = LetterState
LEEDS = "E14001319"  # Leeds Central and Headingley
EAST_RENFREWSHIRE = "S14000021"


def test_figures_count_each_state_and_the_goal(session: Session) -> None:
    campaign = make_campaign(session, goal=8)
    make_letter(session, campaign)  # awaiting confirmation
    make_letter(session, campaign, (S.HELD,), sign=True)
    make_letter(session, campaign, DELIVERED_PATH, sign=True)
    make_letter(session, campaign, (*DELIVERED_PATH[:3], S.BOUNCED), sign=True)
    make_letter(session, campaign, (S.EXPIRED,))

    figures = services.campaign_figures(session, campaign)

    c = figures.counts
    assert (c.written, c.signatures, c.confirmed, c.sent) == (5, 3, 3, 2)
    assert (c.awaiting, c.held, c.delivered, c.bounced, c.expired) == (1, 1, 1, 1, 1)
    assert figures.goal_percent == 100 * 3 / 8
    funnel = [(step.label, step.count, step.drop) for step in figures.funnel]
    assert funnel == [("Written", 5, 0), ("Confirmed", 3, 2), ("Sent", 2, 1), ("Delivered", 1, 1)]
    assert figures.funnel[1].drop_percent == 40.0


def test_figures_of_a_campaign_without_letters_are_zero(session: Session) -> None:
    campaign = make_campaign(session)
    figures = services.campaign_figures(session, campaign)
    assert figures.counts == services.Counts()
    assert figures.goal_percent is None
    assert [step.drop_percent for step in figures.funnel] == [0.0] * 4


def test_partner_figures_show_only_that_partners_letters(session: Session) -> None:
    campaign = make_campaign(session)
    partner = Partner(slug="amnesty-leeds", name="Amnesty Leeds")
    session.add(partner)
    session.commit()
    make_letter(session, campaign, (S.QUEUED,), sign=True, partner_id=partner.id)
    make_letter(session, campaign, (S.QUEUED,), sign=True)

    mine = services.campaign_figures(session, campaign, partner_id=partner.id)

    assert (mine.counts.written, mine.counts.confirmed, mine.counts.signatures) == (1, 1, 1)
    assert services.campaign_figures(session, campaign).counts.written == 2


def test_daily_signatures_fill_empty_days_and_run_a_total(session: Session) -> None:
    campaign = make_campaign(session)
    today = utcnow()
    for days_ago in (10, 2, 2, 0):
        make_letter(session, campaign, sign=True, created_at=today - timedelta(days=days_ago))

    points = services.daily_signatures(
        session, campaign, (today - timedelta(days=3)).date(), today.date()
    )

    assert [p.count for p in points] == [0, 2, 0, 1]
    assert [p.cumulative for p in points] == [1, 3, 3, 4]


def test_breakdowns_group_by_place_mp_party_partner_and_source(session: Session) -> None:
    load_snapshot(session)
    session.commit()
    campaign = make_campaign(session)
    for _ in range(2):
        make_letter(session, campaign, (S.QUEUED,), constituency_code=LEEDS, source="event")
    make_letter(
        session,
        campaign,
        constituency_code=EAST_RENFREWSHIRE,
        recipient_member_id=None,
        source=None,
    )

    by_place = services.breakdown(session, campaign, "constituency")
    rows = {r.label: r for r in by_place.rows}
    assert rows["Leeds Central and Headingley"].counts.written == 2
    assert rows["Leeds Central and Headingley"].constituency == LEEDS
    assert "Labour" in rows["Leeds Central and Headingley"].detail
    assert by_place.sorted("written", descending=True)[0].label == ("Leeds Central and Headingley")
    nations = {
        r.label: r.counts.written for r in services.breakdown(session, campaign, "nation").rows
    }
    assert nations == {"England": 2, "Scotland": 1}
    regions = {r.label for r in services.breakdown(session, campaign, "region").rows}
    assert regions == {"Yorkshire and The Humber", "Scotland"}
    sources = {
        r.label: r.counts.written for r in services.breakdown(session, campaign, "source").rows
    }
    assert sources == {"event": 2, "(none)": 1}
    partners = {r.label for r in services.breakdown(session, campaign, "partner").rows}
    assert partners == {"Direct (no partner)"}


def test_mp_and_party_breakdowns_use_the_directory(session: Session) -> None:
    load_snapshot(session)
    session.commit()
    seat = services.seats(session)[LEEDS]
    campaign = make_campaign(session)
    make_letter(session, campaign, constituency_code=LEEDS, recipient_member_id=seat.member_id)

    mps = services.breakdown(session, campaign, "mp").rows
    parties = services.breakdown(session, campaign, "party").rows

    assert [(r.label, r.constituency) for r in mps] == [(seat.mp_name, LEEDS)]
    assert [(r.label, r.counts.written) for r in parties] == [(seat.party, 1)]


def test_overview_lists_every_campaign_in_one_read(session: Session) -> None:
    one, two = make_campaign(session, "one"), make_campaign(session, "two", goal=10)
    make_letter(session, one)
    summaries = services.overview(session, [one, two])
    assert [(s.campaign.slug, s.figures.counts.written) for s in summaries] == [
        ("one", 1),
        ("two", 0),
    ]
    assert summaries[1].figures.goal_percent == 0.0


def test_breakdown_refuses_an_unknown_dimension(session: Session, campaign: Campaign) -> None:
    with pytest.raises(ValueError, match="shoe-size"):
        services.breakdown(session, campaign, "shoe-size")
