"""`advocacy mps sync`: refresh the MP directory from Parliament's Members API.

The Members API knows nothing of GSS codes, so a current member is matched to a seat by member
id (the shipped snapshot and every sync store the Members API id), and otherwise by the name of
the constituency they sit for, compared loosely. Then:

1. Read the whole list of current Commons members (20 a page). Nothing is written until the
   list is complete, so a failed read can never make seats look vacant.
2. Fetch each matched member's contacts, a few at a time, and update their seat, committing in
   small batches. The checkpoint row records the run's start; a seat confirmed since then by
   this run is not fetched again, so an interrupted sync resumes where it stopped.
3. Only after every member was read and applied: a seat whose MP is no longer a current member
   and that no current member represents becomes vacant, once the Members API confirms that
   the MP has left. A run that would vacate many seats at once stops short of doing so.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import MemberOfParliament, SyncCheckpoint, utcnow
from postcode_lookup import (
    CircuitBreaker,
    Contact,
    LookupUnavailable,
    Member,
    MemberNotFound,
    MembersApiClient,
    RetryPolicy,
    constituency_key,
)

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "mps_sync"
SOURCE = "members_api"
# An interrupted run older than this is not resumed: its confirmations are too old to trust.
RESUME_WINDOW = timedelta(hours=24)
# A run that would vacate more seats than this share (or than MIN_VACANCY_GUARD) is more likely
# a broken answer than a wave of resignations, so it withholds the vacancies.
MAX_VACANCY_SHARE = 0.1
MIN_VACANCY_GUARD = 5


def postal_address_text(contact: Contact) -> str:
    """A contact's postal address as the directory stores it: one line per row."""
    return "\n".join(contact.postal_address.as_lines())


@dataclass(frozen=True)
class SeatChange:
    """One change to a seat, for the report: what it was and what it became."""

    constituency_code: str
    constituency_name: str
    member_name: str | None
    before: str | None = None
    after: str | None = None


@dataclass(frozen=True)
class UnmatchedMember:
    """A current member the sync could not place in any seat of the directory."""

    member_id: int
    name: str
    constituency_name: str | None
    reason: str


@dataclass
class SyncReport:
    """What a sync run read and changed."""

    resumed: bool = False
    members_read: int = 0
    contacts_fetched: int = 0
    already_done: int = 0
    unchanged: int = 0
    details_updated: int = 0
    new_mps: list[SeatChange] = field(default_factory=list)
    email_changes: list[SeatChange] = field(default_factory=list)
    party_changes: list[SeatChange] = field(default_factory=list)
    vacancies: list[SeatChange] = field(default_factory=list)
    vacancies_withheld: list[SeatChange] = field(default_factory=list)
    vacancies_unconfirmed: list[SeatChange] = field(default_factory=list)
    contacts_missing: list[int] = field(default_factory=list)
    unmatched: list[UnmatchedMember] = field(default_factory=list)
    completed: bool = False
    # Seats applied so far by this run and the interrupted runs it resumed.
    seats_saved: int = 0


class SyncInterrupted(Exception):
    """The sync stopped early; what it applied is saved and the next run resumes."""

    def __init__(self, reason: str, report: SyncReport) -> None:
        super().__init__(reason)
        self.reason = reason
        self.report = report


@dataclass(frozen=True)
class Seat:
    """The part of a directory row that matching needs."""

    code: str
    name: str
    member_id: int | None


@dataclass
class SyncPlan:
    """Which member goes to which seat, who fits nowhere, and which seats lost their MP."""

    assignments: dict[str, Member] = field(default_factory=dict)
    unmatched: list[UnmatchedMember] = field(default_factory=list)
    # Seat code -> True when the previous MP now sits for another seat (no need to ask).
    vacancy_candidates: dict[str, bool] = field(default_factory=dict)


def plan_sync(seats: Sequence[Seat], members: Iterable[Member]) -> SyncPlan:
    """Match current members to seats by member id, then by constituency name."""
    plan = SyncPlan()
    by_id = {s.member_id: s for s in seats if s.member_id is not None}
    by_name = {constituency_key(s.name): s for s in seats}
    claims: dict[str, list[tuple[Member, bool]]] = {}
    current_ids: dict[int, str] = {}
    for member in members:
        if member.house not in (None, 1):
            plan.unmatched.append(_unmatched(member, "not a member of the Commons"))
            continue
        named = by_name.get(constituency_key(member.constituency_name or ""))
        held = by_id.get(member.member_id)
        # The member's own seat wins unless they now sit for another one we know by name
        # (an MP elected for a different seat at a general election).
        seat = held if held is not None and (named is None or named is held) else named
        if seat is None:
            plan.unmatched.append(_unmatched(member, "no constituency of that name"))
            continue
        claims.setdefault(seat.code, []).append((member, seat is held))
    for code, claimants in claims.items():
        # Two current members for one seat is bad upstream data: keep the sitting MP, else
        # the most recently elected, and report the other.
        claimants.sort(key=lambda c: (c[1], c[0].start_date or date.min), reverse=True)
        winner = claimants[0][0]
        plan.assignments[code] = winner
        current_ids[winner.member_id] = code
        for loser, _ in claimants[1:]:
            plan.unmatched.append(_unmatched(loser, "another current member holds this seat"))
    for seat in seats:
        if seat.member_id is None or seat.code in plan.assignments:
            continue
        plan.vacancy_candidates[seat.code] = seat.member_id in current_ids
    return plan


def _unmatched(member: Member, reason: str) -> UnmatchedMember:
    return UnmatchedMember(member.member_id, member.name_display, member.constituency_name, reason)


def members_client(
    settings: Settings,
    http: requests.Session,
    *,
    retry: RetryPolicy,
    breaker: CircuitBreaker,
) -> MembersApiClient:
    """A Members API client for the sync (one per thread; retry and breaker shared)."""
    http.headers["User-Agent"] = "advocacy-engine/0.1 (mps sync)"
    return MembersApiClient(
        http,
        settings.members_api_url,
        connect_timeout=settings.lookup_connect_timeout,
        read_timeout=settings.lookup_read_timeout,
        retry=retry,
        breaker=breaker,
    )


ClientFactory = Callable[[requests.Session], MembersApiClient]


class MembersSync:
    """One run of the directory sync; see the module docstring for the steps."""

    def __init__(
        self,
        session: Session,
        client_factory: ClientFactory,
        *,
        concurrency: int = 4,
        delay: float = 0.0,
        batch_size: int = 25,
        allow_mass_vacancies: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.session = session
        self.client_factory = client_factory
        self.concurrency = concurrency
        self.delay = delay
        self.batch_size = batch_size
        self.allow_mass_vacancies = allow_mass_vacancies
        self._sleep = sleep
        self._clock = clock
        self._http: list[requests.Session] = []
        self._http_lock = threading.Lock()
        self.report = SyncReport()

    def run(self, *, restart: bool = False) -> SyncReport:
        """Sync the directory; raises SyncInterrupted (progress saved) if the upstream fails."""
        try:
            return self._run(restart)
        finally:
            with self._http_lock:
                for http in self._http:
                    http.close()
                self._http.clear()

    def _new_client(self) -> MembersApiClient:
        http = requests.Session()
        with self._http_lock:
            self._http.append(http)
        return self.client_factory(http)

    def _run(self, restart: bool) -> SyncReport:
        report = self.report
        checkpoint = self._checkpoint(restart)
        client = self._new_client()
        try:
            members = list(client.current_commons_members())
        except LookupUnavailable as exc:
            logger.warning("mps sync: reading current members failed (%s)", exc)
            raise SyncInterrupted(f"reading the member list failed: {exc}", report) from None
        report.members_read = len(members)
        logger.info("mps sync: %d current members read", len(members))

        rows = {
            row.constituency_code: row for row in self.session.scalars(select(MemberOfParliament))
        }
        plan = plan_sync(
            [Seat(r.constituency_code, r.constituency_name, r.member_id) for r in rows.values()],
            members,
        )
        report.unmatched = plan.unmatched
        for item in plan.unmatched:
            logger.warning("mps sync: member %d matched no seat (%s)", item.member_id, item.reason)

        todo: list[tuple[MemberOfParliament, Member]] = []
        for code, member in plan.assignments.items():
            row = rows[code]
            if report.resumed and self._done_in_this_run(row, member, checkpoint):
                report.already_done += 1
            else:
                todo.append((row, member))
        self._fetch_and_apply(todo, checkpoint)

        assigned = set(plan.assignments)
        now = self._clock()
        for code, row in rows.items():
            if row.member_id is None and code not in assigned:
                row.confirmed_at = now
                row.source = SOURCE
                report.unchanged += 1
        self._apply_vacancies(client, rows, plan.vacancy_candidates, checkpoint)

        self.session.delete(checkpoint)
        self.session.commit()
        report.completed = True
        logger.info(
            "mps sync complete: %d read, %d contacts fetched, %d new MPs, %d email changes, "
            "%d party changes, %d vacancies (%d withheld), %d unmatched, %d unchanged",
            report.members_read,
            report.contacts_fetched,
            len(report.new_mps),
            len(report.email_changes),
            len(report.party_changes),
            len(report.vacancies),
            len(report.vacancies_withheld),
            len(report.unmatched),
            report.unchanged,
        )
        return report

    # The checkpoint

    def _checkpoint(self, restart: bool) -> SyncCheckpoint:
        now = self._clock()
        checkpoint = self.session.get(SyncCheckpoint, CHECKPOINT_NAME)
        if checkpoint is None:
            checkpoint = SyncCheckpoint(name=CHECKPOINT_NAME, position=0, started_at=now)
            self.session.add(checkpoint)
        elif restart or now - checkpoint.started_at > RESUME_WINDOW:
            checkpoint.position = 0
            checkpoint.started_at = now
        else:
            self.report.resumed = True
            self.report.seats_saved = checkpoint.position
            logger.info("mps sync: resuming a run that had applied %d seats", checkpoint.position)
        self.session.commit()
        return checkpoint

    @staticmethod
    def _done_in_this_run(
        row: MemberOfParliament, member: Member, checkpoint: SyncCheckpoint
    ) -> bool:
        return (
            row.source == SOURCE
            and row.member_id == member.member_id
            and row.confirmed_at >= checkpoint.started_at
        )

    def _save_progress(self, checkpoint: SyncCheckpoint, applied: int) -> None:
        checkpoint.position += applied
        self.report.seats_saved = checkpoint.position
        self.session.commit()

    # Contacts

    def _fetch_contacts(self, local: threading.local, member_id: int) -> Contact | None:
        client: MembersApiClient | None = getattr(local, "client", None)
        if client is None:
            client = local.client = self._new_client()
        if self.delay:
            self._sleep(self.delay)
        try:
            return client.contacts(member_id)
        except MemberNotFound:
            return None

    def _fetch_and_apply(
        self, todo: list[tuple[MemberOfParliament, Member]], checkpoint: SyncCheckpoint
    ) -> None:
        if not todo:
            return
        local = threading.local()
        failure: LookupUnavailable | None = None
        pending = 0
        applied: set[int] = set()
        executor = ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(todo)), thread_name_prefix="mps-sync"
        )
        futures: dict[Future[Contact | None], int] = {
            executor.submit(self._fetch_contacts, local, member.member_id): index
            for index, (_, member) in enumerate(todo)
        }
        try:
            for future in as_completed(futures):
                try:
                    contact = future.result()
                except LookupUnavailable as exc:
                    failure = exc
                    break
                index = futures[future]
                self._apply(*todo[index], contact)
                applied.add(index)
                pending += 1
                if pending >= self.batch_size:
                    self._save_progress(checkpoint, pending)
                    pending = 0
        except BaseException:
            # Ctrl-C or a database error: keep what was applied if the session still can.
            executor.shutdown(wait=True, cancel_futures=True)
            if self.session.is_active:
                self._save_progress(checkpoint, pending)
            raise
        executor.shutdown(wait=True, cancel_futures=True)
        if failure is not None:
            # Calls that finished while the failure was being handled are not wasted.
            for future, index in futures.items():
                if index in applied or not future.done() or future.cancelled():
                    continue
                if future.exception() is None:
                    self._apply(*todo[index], future.result())
                    pending += 1
        self._save_progress(checkpoint, pending)
        if failure is not None:
            logger.warning("mps sync interrupted after %d seats (%s)", checkpoint.position, failure)
            raise SyncInterrupted(f"fetching contact details failed: {failure}", self.report)

    def _apply(self, row: MemberOfParliament, member: Member, contact: Contact | None) -> None:
        report = self.report
        same_member = row.member_id == member.member_id
        email: str | None
        address: str | None
        if contact is not None:
            report.contacts_fetched += 1
            email, address = contact.email, postal_address_text(contact)
        else:
            # Parliament lists the member but not their contacts: keep what we had for them.
            report.contacts_missing.append(member.member_id)
            email = row.email if same_member else None
            address = row.postal_address if same_member else None
        seat = (row.constituency_code, row.constituency_name)
        if not same_member:
            report.new_mps.append(
                SeatChange(*seat, member.name_display, before=row.name_display or "(vacant)")
            )
        else:
            changed = False
            if row.email != email:
                report.email_changes.append(
                    SeatChange(*seat, member.name_display, before=row.email, after=email)
                )
                changed = True
            if row.party != member.party:
                report.party_changes.append(
                    SeatChange(*seat, member.name_display, before=row.party, after=member.party)
                )
                changed = True
            details = (row.name_display, row.name_full_title, row.postal_address)
            if not changed:
                if details != (member.name_display, member.name_full_title, address):
                    report.details_updated += 1
                else:
                    report.unchanged += 1
        row.member_id = member.member_id
        row.name_display = member.name_display
        row.name_full_title = member.name_full_title
        row.party = member.party
        row.email = email
        row.postal_address = address
        row.source = SOURCE
        row.confirmed_at = self._clock()

    # Vacancies

    def _apply_vacancies(
        self,
        client: MembersApiClient,
        rows: dict[str, MemberOfParliament],
        candidates: dict[str, bool],
        checkpoint: SyncCheckpoint,
    ) -> None:
        report = self.report
        changes = {
            code: SeatChange(code, rows[code].constituency_name, rows[code].name_display)
            for code in sorted(candidates)
        }
        limit = max(MIN_VACANCY_GUARD, int(len(rows) * MAX_VACANCY_SHARE))
        if len(candidates) > limit and not self.allow_mass_vacancies:
            logger.warning(
                "mps sync: %d seats would become vacant (limit %d); vacancies withheld",
                len(candidates),
                limit,
            )
            report.vacancies_withheld = list(changes.values())
            return
        for code, moved in candidates.items():
            row = rows[code]
            if (
                not moved
                and row.member_id is not None
                and self._still_sitting(client, row.member_id)
            ):
                # They are current but were not in the list: the list shifted while it was
                # being paged. Keep the seat; the next sync will see them.
                report.vacancies_unconfirmed.append(changes[code])
                continue
            report.vacancies.append(changes[code])
            row.member_id = None
            row.name_display = None
            row.name_full_title = None
            row.party = None
            row.email = None
            row.postal_address = None
            row.source = SOURCE
            row.confirmed_at = self._clock()
        self._save_progress(checkpoint, 0)

    def _still_sitting(self, client: MembersApiClient, member_id: int) -> bool:
        try:
            member = client.member(member_id)
        except MemberNotFound:
            return False
        except LookupUnavailable as exc:
            raise SyncInterrupted(f"checking a vacancy failed: {exc}", self.report) from None
        return member.end_date is None and member.house in (None, 1)
