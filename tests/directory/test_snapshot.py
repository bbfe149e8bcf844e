"""The shipped snapshot: 650 seats, loaded once, never over a synced directory."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.directory.snapshot import (
    COMMONS_ADDRESS,
    SNAPSHOT_DATE,
    constituency_names,
    load_snapshot,
    read_snapshot,
)
from advocacy.models import MemberOfParliament
from postcode_lookup import constituency_key


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(MemberOfParliament)) or 0


def test_load_snapshot_fills_650_seats(session: Session) -> None:
    assert load_snapshot(session) == "650 seats loaded from the shipped snapshot"
    session.commit()
    rows = session.scalars(select(MemberOfParliament)).all()
    assert len(rows) == 650
    assert len({row.member_id for row in rows}) == 650
    assert all(row.email and row.postal_address == COMMONS_ADDRESS for row in rows)
    assert {row.source for row in rows} == {"snapshot"}
    assert {row.confirmed_at for row in rows} == {SNAPSHOT_DATE}
    starmer = session.scalars(
        select(MemberOfParliament).where(MemberOfParliament.member_id == 4514)
    ).one()
    assert starmer.constituency_name == "Holborn and St Pancras"


def test_load_snapshot_is_idempotent(session: Session) -> None:
    load_snapshot(session)
    session.commit()
    assert load_snapshot(session) == "650 seats already present, snapshot not needed"
    session.commit()
    assert _count(session) == 650


def test_load_snapshot_leaves_a_synced_directory_alone(session: Session) -> None:
    load_snapshot(session)
    seat = session.get(MemberOfParliament, "E14001063")
    assert seat is not None
    seat.email = "newer@parliament.uk"
    session.commit()
    load_snapshot(session)
    session.commit()
    session.expire_all()
    seat = session.get(MemberOfParliament, "E14001063")
    assert seat is not None
    assert seat.email == "newer@parliament.uk"


def test_seed_command_loads_the_snapshot_once(runner: FlaskCliRunner, session: Session) -> None:
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "MP directory: 650 seats loaded from the shipped snapshot." in first.output
    second = runner.invoke(args=["seed"])
    assert "650 seats already present" in second.output
    assert _count(session) == 650


def test_snapshot_codes_match_postcodes_io_and_names_match_loosely() -> None:
    names = constituency_names()
    rows = list(read_snapshot())
    assert {row.constituency_code for row in rows} == set(names)
    differ = {
        row.constituency_code
        for row in rows
        if row.constituency_name != names[row.constituency_code]
    }
    assert differ == {"E14001127", "E14001487", "W07000102"}
    assert all(
        constituency_key(row.constituency_name) == constituency_key(names[row.constituency_code])
        for row in rows
    )
    assert len({constituency_key(row.constituency_name) for row in rows}) == 650


def test_read_snapshot_treats_z_and_not_applicable_as_missing(tmp_path: Path) -> None:
    csv_file = tmp_path / "mp.csv"
    csv_file.write_text(
        '"pcon_name","pcon_code","member_id","full_title","display_as","party_text","member_email"\r\n'
        '"Somewhere","E14000001","z","Not applicable","z","","z"\r\n',
        encoding="utf-8",
    )
    (row,) = read_snapshot(csv_file)
    assert row.constituency_code == "E14000001"
    assert (row.member_id, row.name_display, row.party, row.email) == (None, None, None, None)
