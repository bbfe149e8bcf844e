"""Response figures: Wilson intervals, times to reply, ranking, responses.json, the staff screen."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.models import (
    Campaign,
    Letter,
    LetterReply,
    LetterState,
    MemberOfParliament,
    ReplyQuestionnaire,
    utcnow,
)
from advocacy.responses.figures import compute, percentile, wilson
from tests.delivery.helpers import new_letter

SENT = utcnow().replace(microsecond=0) - timedelta(days=40)
MPS = {
    # member id: (name, constituency code, constituency, party)
    4001: ("Jo Bloggs MP", "E14001337", "Leeds Central and Headingley", "Labour"),
    4002: ("=HYPERLINK(1) MP", "E14001063", "Aldershot", "Conservative"),
    4003: ("Sam Few MP", "E14001172", "Cities of London and Westminster", "Labour"),
}


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    low, high = wilson(0, 10)
    assert low == 0.0
    assert round(high, 4) == 0.2775
    low, high = wilson(10, 10)
    assert round(low, 4) == 0.7225
    assert high == pytest.approx(1.0)
    assert wilson(0, 0) == (0.0, 1.0)


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([], 0.5) is None


def _letter(session: Session, campaign: Campaign, member_id: int, n: int) -> Letter:
    name, code, constituency, _ = MPS[member_id]
    letter = new_letter(
        campaign,
        email_digest=f"{member_id}{n:060d}",
        recipient_member_id=member_id,
        recipient_name=name,
        constituency_code=code,
        constituency_name=constituency,
        state=LetterState.DELIVERED,
        sent_at=SENT,
        delivered_at=SENT,
    )
    session.add(letter)
    session.flush()
    return letter


def _reply(session: Session, letter: Letter, days: float, **values: Any) -> None:
    session.add(
        LetterReply(
            letter_id=letter.id,
            message_digest=f"{letter.id}-{days}-{values}",
            received_at=SENT + timedelta(days=days),
            is_automatic=values.get("is_automatic", False),
            is_from_mp=values.get("is_from_mp", True),
        )
    )


def _answer(session: Session, letter: Letter, answer: str) -> None:
    session.add(
        ReplyQuestionnaire(letter_id=letter.id, kind="replied", asked_at=SENT, answer=answer)
    )


@pytest.fixture
def replies_data(session: Session, campaign: Campaign) -> Campaign:
    """MP 4001: 12 letters, 8 replies detected (1-8 days), 2 answered yes, 2 no.

    MP 4002: 10 letters, 1 reply after 20 days, an acknowledgement, 9 answered no.
    MP 4003: 2 letters, one reply: too few to rank.
    """
    for member_id, (_, code, constituency, party) in MPS.items():
        session.add(
            MemberOfParliament(
                constituency_code=code,
                constituency_name=constituency,
                member_id=member_id,
                name_display=MPS[member_id][0],
                party=party,
            )
        )
    for n in range(12):
        letter = _letter(session, campaign, 4001, n)
        if n < 8:
            _reply(session, letter, n + 1)
            _reply(session, letter, 0.01, is_automatic=True)
        elif n < 10:
            _answer(session, letter, "yes")
        else:
            _answer(session, letter, "no")
    for n in range(10):
        letter = _letter(session, campaign, 4002, n)
        if n == 0:
            _reply(session, letter, 20)
        else:
            if n == 1:
                _reply(session, letter, 0.1, is_automatic=True)
            _answer(session, letter, "no")
    for n in range(2):
        letter = _letter(session, campaign, 4003, n)
        if n == 0:
            _reply(session, letter, 3)
    # A bounced letter and a reply from another domain tell nothing about replies.
    bounced = _letter(session, campaign, 4001, 99)
    bounced.state = LetterState.BOUNCED
    _reply(session, _letter(session, campaign, 4003, 98), 2, is_from_mp=False)
    session.commit()
    return campaign


def test_figures_combine_detections_and_answers_by_mp_and_party(
    session: Session, replies_data: Campaign
) -> None:
    figures = compute(session, replies_data)
    overall = figures.overall
    assert overall.letters == 12 + 10 + 3
    assert (overall.detected, overall.acknowledged, overall.other_address) == (10, 1, 1)
    assert overall.replied == 8 + 2 + 1 + 1
    assert overall.informed == 12 + 10 + 1
    jo, hyperlink, few = figures.by_mp
    assert (jo.key, jo.letters, jo.replied, jo.informed) == ("4001", 12, 10, 12)
    assert jo.is_ranked
    assert jo.median_days == pytest.approx(4.5)
    assert jo.p90_days == pytest.approx(7.3)
    assert (hyperlink.replied, hyperlink.informed, hyperlink.is_ranked) == (1, 10, True)
    assert hyperlink.answers["no"] == 9
    assert hyperlink.median_days == pytest.approx(20)
    assert (few.key, few.is_ranked, few.letters) == ("4003", False, 3)
    labour, conservative = figures.by_party
    assert (labour.name, labour.letters, labour.replied) == ("Labour", 15, 11)
    assert conservative.name == "Conservative"
    assert dict(figures.histogram())["3-7 days"] == 1 + 4  # MP 4003's 3 days, Jo's 3-6


def test_responses_json_is_public_per_mp_counts_without_personal_data(
    client: FlaskClient, replies_data: Campaign
) -> None:
    replies_data.status = "live"
    response = client.get(f"/campaigns/{replies_data.slug}/responses.json")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.headers["Cache-Control"] == "public, max-age=0"
    data = response.get_json()
    assert (data["letters"], data["replies"]) == (25, 12)
    jo = data["mps"][0]
    assert jo == {
        "member_id": 4001,
        "name": "Jo Bloggs MP",
        "party": "Labour",
        "constituency": "Leeds Central and Headingley",
        "letters": 12,
        "replies": 10,
        "rate": 0.833,
        "median_days": 4.5,
        "note": None,
    }
    few = data["mps"][2]
    assert few["rate"] is None
    assert few["note"] == "too few letters"
    body = response.get_data(as_text=True)
    assert "ayesha" not in body.lower()
    assert "Acacia" not in body
    assert client.get("/campaigns/nope/responses.json").status_code == 404


def test_staff_screen_shows_chart_table_and_map_to_viewers(
    staff_client: Callable[..., FlaskClient], replies_data: Campaign
) -> None:
    viewer = staff_client("viewer")
    response = viewer.get(f"/workspace/campaigns/{replies_data.slug}/responses")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Days from delivery to the MP&#39;s first reply" in page
    assert page.count("<polygon") == 650
    assert 'id="mp-4001"' in page
    # The map's hex for Jo's seat (E14001337) links to Jo's row and says the rate.
    assert 'href="#mp-4001" aria-label="Liverpool Garston: Jo Bloggs MP, 83% replied"' in page
    assert "too few letters" in page
    assert "83% (55% to 95%)" in page
    assert "Download as CSV" in page
    assert viewer.get("/workspace/responses").status_code == 200
    assert viewer.get("/workspace/campaigns/nope/responses").status_code == 404


def test_staff_screen_and_csv_are_refused_to_partners_and_strangers(
    staff_client: Callable[..., FlaskClient], client: FlaskClient, replies_data: Campaign
) -> None:
    partner = staff_client("partner")
    for path in ("responses", "responses.csv"):
        url = f"/workspace/campaigns/{replies_data.slug}/{path}"
        assert partner.get(url).status_code == 403
        anonymous = client.get(url)
        assert anonymous.status_code == 302
        assert anonymous.headers["Location"].startswith("/workspace/login")


def test_csv_export_has_every_level_and_neutralises_formulas(
    staff_client: Callable[..., FlaskClient], replies_data: Campaign
) -> None:
    response = staff_client("viewer").get(f"/workspace/campaigns/{replies_data.slug}/responses.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["group"] for r in rows] == ["all", "party", "party", "mp", "mp", "mp"]
    hyperlink = next(r for r in rows if r["member_id"] == "4002")
    assert hyperlink["name"] == "'=HYPERLINK(1) MP"
    assert (hyperlink["rate"], hyperlink["rate_ci95_low"]) == ("0.1", "0.0179")
    assert rows[-1]["ranked"] == "too few letters"
