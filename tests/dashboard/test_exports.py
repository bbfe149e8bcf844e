"""CSV exports: neutralised cells, streamed chunks, personal data only within retention."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from advocacy.dashboard import exports, services
from advocacy.models import Campaign, Letter, LetterState, Partner, utcnow
from tests.dashboard.conftest import DELIVERED_PATH, make_letter

S = LetterState


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+44 20 7946 0000", "'+44 20 7946 0000"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Ayesha Khan", "Ayesha Khan"),
        ("a=b", "a=b"),
        (None, ""),
        (12, "12"),
    ],
)
def test_neutralise_defuses_formula_cells(value: object, expected: str) -> None:
    assert exports.neutralise(value) == expected


def _parse(chunks: list[str]) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(chunks))))


def test_stream_csv_yields_in_batches_not_all_at_once() -> None:
    rows = ([i, "=x"] for i in range(exports.BATCH * 2 + 5))
    chunks = list(exports.stream_csv(["n", "cell"], rows))
    assert len(chunks) == 3
    parsed = _parse(chunks)
    assert parsed[0] == ["n", "cell"]
    assert len(parsed) == exports.BATCH * 2 + 6
    assert parsed[1] == ["0", "'=x"]


def test_signature_export_has_place_mp_partner_source_and_state(
    session: Session, campaign: Campaign
) -> None:
    partner = Partner(slug="amnesty-leeds", name="=Amnesty Leeds")
    session.add(partner)
    session.commit()
    make_letter(session, campaign, DELIVERED_PATH, sign=True, source="event", partner_id=partner.id)
    make_letter(session, campaign)  # not confirmed: no signature, not exported

    parsed = _parse(
        list(
            exports.stream_csv(exports.SIGNATURE_HEADER, exports.signature_rows(session, campaign))
        )
    )

    assert parsed[0] == list(exports.SIGNATURE_HEADER)
    assert len(parsed) == 2
    row = dict(zip(parsed[0], parsed[1], strict=True))
    assert row["constituency_code"] == "E14001337"
    assert row["mp"] == "Jo Bloggs MP"
    assert row["partner"] == "'=Amnesty Leeds"
    assert row["source"] == "event"
    assert row["delivery_state"] == "delivered"
    assert "ayesha" not in "".join(parsed[1]).lower()


def test_breakdown_export_lists_each_constituency(session: Session, campaign: Campaign) -> None:
    make_letter(session, campaign, (S.QUEUED,), sign=True)
    table = services.breakdown(session, campaign, "constituency", seat_index={})
    parsed = _parse(
        list(
            exports.stream_csv(
                exports.breakdown_header("Constituency"), exports.breakdown_rows(table)
            )
        )
    )
    assert parsed[0][:3] == ["constituency", "code", "detail"]
    assert parsed[1][1] == "E14001337"
    assert parsed[1][3:5] == ["1", "1"]


def test_personal_export_leaves_out_letters_past_retention(
    session: Session, campaign: Campaign
) -> None:
    recent = make_letter(session, campaign, DELIVERED_PATH, sign=True, sender_name="Recent Writer")
    old = make_letter(session, campaign, DELIVERED_PATH, sign=True, sender_name="Old Writer")
    waiting = make_letter(session, campaign, sender_name="Still Waiting")
    purged = make_letter(session, campaign, (S.QUEUED,), sign=True, sender_name="")
    long_ago = utcnow() - timedelta(days=31)
    session.execute(update(Letter).where(Letter.id == old.id).values(state_changed_at=long_ago))
    session.execute(update(Letter).where(Letter.id == purged.id).values(purged_at=utcnow()))
    session.commit()

    names = [row[0] for row in exports.personal_rows(session, campaign, retention_days=30)]

    assert names == [recent.sender_name, waiting.sender_name]
