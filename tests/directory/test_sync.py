"""`advocacy mps sync` against the Members API fake loaded with all 650 MPs."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.directory.snapshot import COMMONS_ADDRESS
from advocacy.directory.sync import (
    CHECKPOINT_NAME,
    SOURCE,
    MembersSync,
    Seat,
    members_client,
    plan_sync,
)
from advocacy.extensions import db
from advocacy.models import MemberOfParliament, SyncCheckpoint, utcnow
from postcode_lookup import CircuitBreaker, Member, RetryPolicy
from tests.conftest import make_settings
from tests.directory.conftest import ALDERSHOT, ControlledMembersApi, snapshot_rows
from tests.fakes import MpRecord, PostcodesIoFake, contact_entry

pytestmark = pytest.mark.usefixtures("seeded")

SEVENOAKS = "E14001465"
HOLBORN = "E14001290"
BRISTOL_CENTRAL = "E14001131"
MONTGOMERYSHIRE = "W07000102"
LEFT = "2026-10-01T00:00:00"
BY_ELECTION = "2026-11-05T00:00:00"


@pytest.fixture
def members_api() -> Iterator[ControlledMembersApi]:
    """The Members API fake with the 650 MPs of the shipped snapshot."""
    with ControlledMembersApi() as fake:
        fake.load_mp_csv()
        yield fake


@pytest.fixture
def records(members_api: ControlledMembersApi) -> dict[str, MpRecord]:
    """What the fake holds for each seat, by GSS code (the fake knows the codes it loaded)."""
    rows = snapshot_rows()
    found = {}
    for code, row in rows.items():
        cid = members_api.constituency_id(code)
        assert row.member_id is not None
        found[code] = MpRecord(row.member_id, cid, row.constituency_name, row.email)
    return found


@pytest.fixture
def settings(
    database_url: str,
    tmp_path: Path,
    postcodes_io: PostcodesIoFake,
    members_api: ControlledMembersApi,
) -> Settings:
    """Settings pointing at both fakes, with a read timeout short enough for slow tests."""
    return make_settings(
        database_url,
        tmp_path / "instance",
        env={
            "POSTCODES_IO_URL": postcodes_io.url,
            "MEMBERS_API_URL": members_api.url,
            "LOOKUP_READ_TIMEOUT": "0.5",
        },
    )


def sync(runner: FlaskCliRunner, *args: str) -> Result:
    """Run `advocacy mps sync` with no backoff sleeping."""
    return runner.invoke(args=["mps", "sync", "--backoff", "0", *args])


def seats(session: Session) -> dict[str, MemberOfParliament]:
    """The directory as committed, by GSS code."""
    session.expire_all()
    return {row.constituency_code: row for row in session.scalars(select(MemberOfParliament))}


def checkpoint(session: Session) -> SyncCheckpoint | None:
    """The sync's checkpoint row, as committed."""
    session.expire_all()
    return session.get(SyncCheckpoint, CHECKPOINT_NAME)


def rewrite_member(fake: ControlledMembersApi, record: MpRecord, **changes: str | None) -> None:
    """Replace a member with the same details except `changes` (party, end_date...)."""
    row = snapshot_rows()[fake_code(fake, record)]
    details: dict[str, object] = {
        "name_display": row.name_display,
        "name_full_title": row.name_full_title,
        "party": row.party,
        "constituency_name": record.constituency_name,
        "constituency_id": record.constituency_id,
    }
    details.update(changes)
    fake.add_member(record.member_id, **details)  # type: ignore[arg-type]


def fake_code(fake: ControlledMembersApi, record: MpRecord) -> str:
    """The GSS code of a record's seat."""
    return next(code for code, row in snapshot_rows().items() if row.member_id == record.member_id)


def resign(fake: ControlledMembersApi, record: MpRecord) -> None:
    """The MP leaves the Commons and the seat is vacant."""
    rewrite_member(fake, record, end_date=LEFT)
    fake.make_vacant(record.constituency_id)


def elect(
    fake: ControlledMembersApi,
    record: MpRecord,
    member_id: int,
    name: str,
    *,
    email: str | None,
    constituency_name: str | None = None,
) -> None:
    """A by-election: the old MP has left and a new member sits for the seat."""
    resign(fake, record)
    fake.add_member(
        member_id,
        name_display=name,
        party="Reform UK",
        constituency_name=constituency_name or record.constituency_name,
        constituency_id=record.constituency_id,
        start_date=BY_ELECTION,
    )
    fake.set_contacts(
        member_id,
        [contact_entry(1, email=email, lines=("House of Commons", "London"), postcode="SW1A 0AA")],
    )
    fake.add_constituency(
        record.constituency_name, constituency_id=record.constituency_id, member_id=member_id
    )


def test_sync_unchanged_upstream_confirms_all_650_seats(
    runner: FlaskCliRunner, session: Session, members_api: ControlledMembersApi
) -> None:
    before = utcnow()
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "MP directory sync complete." in result.output
    assert "Current members read: 650; contact lists fetched: 650." in result.output
    assert "New MPs: 0. Email changes: 0. Party changes: 0. Vacancies: 0." in result.output
    assert "Unchanged: 650. Unmatched members: 0." in result.output
    rows = seats(session)
    assert {row.source for row in rows.values()} == {SOURCE}
    assert all(row.confirmed_at >= before for row in rows.values())
    assert checkpoint(session) is None


def test_sync_pages_through_all_members_twenty_at_a_time(
    runner: FlaskCliRunner, members_api: ControlledMembersApi
) -> None:
    assert sync(runner).exit_code == 0
    searches = members_api.search_requests()
    assert [int(r.param("skip") or 0) for r in searches] == list(range(0, 650, 20))
    assert {r.param("take") for r in searches} == {"20"}
    assert {(r.param("House"), r.param("IsCurrentMember")) for r in searches} == {("1", "true")}
    contacted = {int(r.path.split("/")[3]) for r in members_api.contact_requests()}
    assert len(contacted) == 650


def test_sync_reports_and_applies_email_party_new_mp_and_vacancy(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    aldershot = records[ALDERSHOT]
    members_api.set_contacts(
        aldershot.member_id,
        [contact_entry(1, email="alex.baker.office@parliament.uk", lines=("House of Commons",))],
    )
    rewrite_member(members_api, records[SEVENOAKS], party="Independent")
    elect(
        members_api, records[HOLBORN], 6001, "Jo Newmember", email="jo.newmember.mp@parliament.uk"
    )
    resign(members_api, records[BRISTOL_CENTRAL])

    result = sync(runner)

    assert result.exit_code == 0, result.output
    out = result.output
    assert "New MPs: 1. Email changes: 1. Party changes: 1. Vacancies: 1." in out
    assert "Unchanged: 646." in out
    assert (
        "Email changed: Aldershot (E14001063), Alex Baker: alex.baker.mp@parliament.uk -> "
        "alex.baker.office@parliament.uk" in out
    )
    assert "Party changed: Sevenoaks (E14001465), Laura Trott: Conservative -> Independent" in out
    assert "New MP: Holborn and St Pancras (E14001290): Sir Keir Starmer -> Jo Newmember" in out
    assert "Vacant: Bristol Central (E14001131) (was Carla Denyer)" in out

    rows = seats(session)
    assert rows[ALDERSHOT].email == "alex.baker.office@parliament.uk"
    assert rows[ALDERSHOT].postal_address == "House of Commons"
    assert rows[SEVENOAKS].party == "Independent"
    holborn = rows[HOLBORN]
    assert (holborn.member_id, holborn.name_display, holborn.party, holborn.email) == (
        6001,
        "Jo Newmember",
        "Reform UK",
        "jo.newmember.mp@parliament.uk",
    )
    bristol = rows[BRISTOL_CENTRAL]
    assert bristol.is_vacant
    assert (bristol.name_display, bristol.party, bristol.email, bristol.postal_address) == (
        None,
        None,
        None,
        None,
    )
    assert bristol.constituency_name == "Bristol Central"
    # The vacancy was confirmed with Parliament before it was applied.
    assert f"/api/Members/{records[BRISTOL_CENTRAL].member_id}" in {
        r.path for r in members_api.requests
    }


def test_sync_email_from_constituency_office_when_parliamentary_office_has_none(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    members_api.set_contacts(
        records[ALDERSHOT].member_id,
        [
            contact_entry(6, lines=("https://alexbaker.example",), is_web_address=True),
            contact_entry(1, lines=("House of Commons", "London"), postcode="SW1A 0AA"),
            contact_entry(
                4, email="alex@aldershot.example", lines=("1 High Street",), postcode="GU11 1AA"
            ),
        ],
    )
    assert sync(runner).exit_code == 0
    row = seats(session)[ALDERSHOT]
    assert row.email == "alex@aldershot.example"
    assert row.postal_address == COMMONS_ADDRESS


def test_sync_mp_without_email_keeps_a_postal_address(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    members_api.set_contacts(
        records[ALDERSHOT].member_id,
        [contact_entry(4, lines=("1 High Street", "Aldershot"), postcode="GU11 1AA")],
    )
    result = sync(runner)
    assert "alex.baker.mp@parliament.uk -> (none)" in result.output
    row = seats(session)[ALDERSHOT]
    assert row.email is None
    assert row.postal_address == "1 High Street\nAldershot\nGU11 1AA"


def test_sync_member_with_no_contacts_listed_gets_the_commons_address(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    members_api.set_contacts(records[ALDERSHOT].member_id, [])
    assert sync(runner).exit_code == 0
    row = seats(session)[ALDERSHOT]
    assert (row.email, row.postal_address) == (None, COMMONS_ADDRESS)


def test_sync_contacts_404_keeps_the_previous_details(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    member_id = records[ALDERSHOT].member_id
    members_api.fail_always(status=404, path=f"/Members/{member_id}/Contact")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert f"No contact details listed for members {member_id}" in result.output
    assert seats(session)[ALDERSHOT].email == "alex.baker.mp@parliament.uk"


def test_sync_matches_a_new_member_by_a_differently_spelt_constituency_name(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    elect(
        members_api,
        records[MONTGOMERYSHIRE],
        6002,
        "Sam Jones",
        email="sam.jones.mp@parliament.uk",
        constituency_name="Montgomeryshire & Glyndwr",
    )
    result = sync(runner)
    assert "New MP: Montgomeryshire and Glyndŵr (W07000102): Steve Witherden -> Sam Jones" in (
        result.output
    )
    assert seats(session)[MONTGOMERYSHIRE].member_id == 6002


def test_sync_reports_a_member_it_cannot_place(
    runner: FlaskCliRunner, session: Session, members_api: ControlledMembersApi
) -> None:
    members_api.add_member(6003, name_display="Pat Nowhere", constituency_name="Atlantis North")
    result = sync(runner)
    assert result.exit_code == 0
    assert "Unmatched members: 1." in result.output
    assert "Unmatched member 6003 Pat Nowhere (Atlantis North): no constituency of that name" in (
        result.output
    )
    assert 6003 not in {row.member_id for row in seats(session).values()}
    assert "/api/Members/6003/Contact" not in {r.path for r in members_api.requests}


def test_sync_retries_a_failing_upstream_and_completes(
    runner: FlaskCliRunner, members_api: ControlledMembersApi
) -> None:
    members_api.fail_next(1, status=500, path="/Members/Search")
    members_api.fail_next(3, status=503, path="/Contact")
    members_api.reset_next(1, path="/Contact")
    members_api.close_next(1, path="/Contact")
    # More tries than faults, so even one member meeting every fault in turn gets through.
    result = sync(runner, "--attempts", "6")
    assert result.exit_code == 0, result.output
    assert "Unchanged: 650." in result.output
    assert len(members_api.search_requests()) == 33 + 1
    # Each fault costs one more request; on a loaded machine a slow answer can also meet the
    # client's read timeout and be retried, so only the floor is exact.
    assert len(members_api.contact_requests()) >= 650 + 5


def test_sync_slow_upstream_times_out_retries_and_completes(
    runner: FlaskCliRunner, members_api: ControlledMembersApi
) -> None:
    members_api.slow_next(1.0, count=2, path="/Contact")  # beyond the 0.5 s read timeout
    members_api.slow_next(1.0, count=1, path="/Members/Search")
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "Unchanged: 650." in result.output
    # The two slow answers were asked again; on a loaded machine an answer that was merely
    # late can pass the 0.5 s timeout too and be asked again, which is also right.
    assert 650 + 2 <= len(members_api.contact_requests()) <= 650 + 10


def test_sync_keeps_to_its_concurrency_bound_and_pauses_between_requests(
    settings: Settings, members_api: ControlledMembersApi
) -> None:
    members_api.contact_seconds = 0.002
    pauses: list[float] = []
    retry = RetryPolicy(max_attempts=2, base_delay=0)
    breaker = CircuitBreaker()
    with db.new_session() as own:
        report = MembersSync(
            own,
            lambda http: members_client(settings, http, retry=retry, breaker=breaker),
            concurrency=3,
            delay=0.25,
            sleep=pauses.append,
        ).run()
    assert report.completed
    assert members_api.max_in_flight == 3
    assert pauses == [0.25] * 650


def test_sync_of_an_empty_directory_asks_for_the_snapshot_first(
    runner: FlaskCliRunner, session: Session, members_api: ControlledMembersApi
) -> None:
    session.execute(delete(MemberOfParliament))
    session.commit()
    result = sync(runner)
    assert result.exit_code == 1
    assert "The MP directory is empty: run `advocacy seed` first" in result.output
    assert members_api.request_count == 0


def test_sync_interrupted_run_saves_progress_and_resumes(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    resign(members_api, records[BRISTOL_CENTRAL])
    members_api.contact_budget = 200  # then Parliament's API falls over

    first = sync(runner)

    assert first.exit_code == 1
    assert "Sync interrupted: fetching contact details failed" in first.output
    # 200 contacts are answered; on a loaded machine one of them may time out and be retried
    # into the outage, so a few fewer seats may be saved. Whatever was saved must agree.
    match = re.search(r"(\d+) seats are saved; no seat was made vacant\.", first.output)
    assert match, first.output
    done = int(match.group(1))
    assert 190 <= done <= 200
    saved = checkpoint(session)
    assert saved is not None
    assert saved.position == done
    rows = seats(session)
    assert sum(row.source == SOURCE for row in rows.values()) == done
    assert not rows[BRISTOL_CENTRAL].is_vacant

    members_api.contact_budget = None
    members_api.clear_requests()
    second = sync(runner)

    assert second.exit_code == 0, second.output
    assert "MP directory sync resumed and complete." in second.output
    assert f"already done by the interrupted run: {done}" in second.output
    assert "Vacancies: 1." in second.output
    # The list is read again in full (vacancies need all of it); contacts are not.
    assert len(members_api.search_requests()) == 33
    assert len(members_api.contact_requests()) == 649 - done
    rows = seats(session)
    assert rows[BRISTOL_CENTRAL].is_vacant
    assert {row.source for row in rows.values()} == {SOURCE}
    assert checkpoint(session) is None


def test_sync_restart_option_ignores_an_interrupted_run(
    runner: FlaskCliRunner, session: Session, members_api: ControlledMembersApi
) -> None:
    members_api.contact_budget = 50
    assert sync(runner).exit_code == 1
    members_api.contact_budget = None
    members_api.clear_requests()
    result = sync(runner, "--restart")
    assert result.exit_code == 0
    assert "MP directory sync complete." in result.output
    assert len(members_api.contact_requests()) == 650


def test_sync_does_not_resume_a_day_old_checkpoint(
    runner: FlaskCliRunner, session: Session, members_api: ControlledMembersApi
) -> None:
    members_api.contact_budget = 50
    assert sync(runner).exit_code == 1
    old = checkpoint(session)
    assert old is not None
    old.started_at = utcnow() - timedelta(days=2)
    session.commit()
    members_api.contact_budget = None
    members_api.clear_requests()
    assert sync(runner).exit_code == 0
    assert len(members_api.contact_requests()) == 650


def test_sync_completed_run_starts_the_next_one_fresh(
    runner: FlaskCliRunner, members_api: ControlledMembersApi
) -> None:
    assert sync(runner).exit_code == 0
    members_api.clear_requests()
    result = sync(runner)
    assert "MP directory sync complete." in result.output
    assert len(members_api.contact_requests()) == 650


def test_sync_failed_member_list_changes_nothing(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    resign(members_api, records[BRISTOL_CENTRAL])
    members_api.fail_search_from = 200  # the list breaks off after ten pages

    result = sync(runner)

    assert result.exit_code == 1
    assert "reading the member list failed" in result.output
    assert members_api.contact_requests() == []
    rows = seats(session)
    assert not any(row.is_vacant for row in rows.values())
    assert {row.source for row in rows.values()} == {"snapshot"}


def test_sync_failing_contacts_never_vacate_seats(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    resign(members_api, records[BRISTOL_CENTRAL])
    members_api.fail_always(status=502, path="/Contact")
    result = sync(runner)
    assert result.exit_code == 1
    assert not any(row.is_vacant for row in seats(session).values())
    # The breaker stopped the run: a handful of calls, not 650 of them retried.
    assert len(members_api.contact_requests()) < 40


def test_sync_withholds_mass_vacancies_unless_allowed(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    leaving = sorted(records)[:70]
    for code in leaving:
        resign(members_api, records[code])

    held = sync(runner)

    assert held.exit_code == 1
    assert "70 seats would have become vacant at once; nothing was vacated" in held.output
    assert not any(row.is_vacant for row in seats(session).values())

    allowed = sync(runner, "--allow-mass-vacancies")
    assert allowed.exit_code == 0, allowed.output
    assert "Vacancies: 70." in allowed.output
    assert {code for code, row in seats(session).items() if row.is_vacant} == set(leaving)


def test_sync_keeps_a_seat_whose_mp_is_still_current_but_missing_from_the_list(
    runner: FlaskCliRunner,
    session: Session,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    members_api.hidden = {records[ALDERSHOT].member_id}
    result = sync(runner)
    assert result.exit_code == 0, result.output
    assert "Vacancy not applied, the MP is still a current member: Aldershot" in result.output
    assert seats(session)[ALDERSHOT].member_id == records[ALDERSHOT].member_id


def test_sync_shows_at_once_in_this_process(
    runner: FlaskCliRunner,
    client: FlaskClient,
    members_api: ControlledMembersApi,
    records: dict[str, MpRecord],
) -> None:
    before = client.get(f"/api/mp?constituency={SEVENOAKS}").get_json()
    assert before["mp"]["party"] == "Conservative"
    rewrite_member(members_api, records[SEVENOAKS], party="Independent")
    assert sync(runner).exit_code == 0
    after = client.get(f"/api/mp?constituency={SEVENOAKS}").get_json()
    assert after["mp"]["party"] == "Independent"


def test_status_command_reports_sync_state(
    runner: FlaskCliRunner, members_api: ControlledMembersApi
) -> None:
    fresh = runner.invoke(args=["mps", "status"])
    assert "Seats: 650. Vacant: 0. MPs without an email address: 0." in fresh.output
    assert "never (shipped snapshot)" in fresh.output
    members_api.contact_budget = 30
    sync(runner)
    interrupted = runner.invoke(args=["mps", "status"])
    assert "has applied 30 seats; `advocacy mps sync` resumes it." in interrupted.output
    members_api.contact_budget = None
    sync(runner)
    done = runner.invoke(args=["mps", "status"])
    assert "Last synced: 20" in done.output
    assert "interrupted" not in done.output


# Matching, without HTTP


def _member(
    member_id: int, seat: str | None, *, house: int = 1, start: date | None = None
) -> Member:
    return Member(
        member_id=member_id,
        name_display=f"Member {member_id}",
        name_full_title=None,
        name_list_as=None,
        party="Labour",
        constituency_name=seat,
        constituency_id=None,
        house=house,
        gender=None,
        status_active=True,
        status_description="Current Member",
        start_date=start,
    )


def test_plan_sync_prefers_member_id_then_name() -> None:
    seats_ = [Seat("A", "Alpha and the Beta", 1), Seat("B", "Gamma", 2), Seat("C", "Delta", None)]
    plan = plan_sync(
        seats_,
        [
            _member(1, "Alpha & Beta"),  # same member, name spelt differently
            _member(2, None),  # no constituency name: the member id is enough
            _member(3, "DELTA"),  # a new member for a vacant seat, by name
        ],
    )
    assert {code: m.member_id for code, m in plan.assignments.items()} == {"A": 1, "B": 2, "C": 3}
    assert plan.vacancy_candidates == {}
    assert plan.unmatched == []


def test_plan_sync_member_who_moved_seat_leaves_the_old_one_vacant() -> None:
    plan = plan_sync([Seat("A", "Alpha", 1), Seat("B", "Beta", 2)], [_member(1, "Beta")])
    assert plan.assignments["B"].member_id == 1
    # Member 1 now sits for B; A lost its MP without asking Parliament again.
    assert plan.vacancy_candidates == {"A": True}


def test_plan_sync_two_members_for_one_seat_keeps_the_sitting_mp() -> None:
    plan = plan_sync(
        [Seat("A", "Alpha", 1)],
        [_member(9, "Alpha", start=date(2026, 1, 1)), _member(1, "Alpha", start=date(2024, 7, 4))],
    )
    assert plan.assignments["A"].member_id == 1
    assert [(u.member_id, u.reason) for u in plan.unmatched] == [
        (9, "another current member holds this seat")
    ]


def test_plan_sync_two_new_members_for_one_seat_keeps_the_latest_elected() -> None:
    plan = plan_sync(
        [Seat("A", "Alpha", None)],
        [_member(8, "Alpha", start=date(2024, 7, 4)), _member(9, "Alpha", start=date(2026, 1, 1))],
    )
    assert plan.assignments["A"].member_id == 9


def test_plan_sync_ignores_members_of_the_lords() -> None:
    plan = plan_sync([Seat("A", "Alpha", None)], [_member(7, "Alpha", house=2)])
    assert plan.assignments == {}
    assert plan.unmatched[0].reason == "not a member of the Commons"
