"""The `advocacy mps` commands: sync the MP directory and show its state."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from advocacy.config import Settings
from advocacy.directory.service import invalidate_directory_cache
from advocacy.directory.sync import (
    CHECKPOINT_NAME,
    SOURCE,
    MembersSync,
    SeatChange,
    SyncInterrupted,
    SyncReport,
    members_client,
)
from advocacy.extensions import db
from advocacy.models import MemberOfParliament, SyncCheckpoint
from postcode_lookup import CircuitBreaker, RetryPolicy


@click.group("mps", cls=AppGroup)
def mps_command() -> None:
    """The MP directory."""


def _seat(change: SeatChange) -> str:
    return f"{change.constituency_name} ({change.constituency_code})"


def format_report(report: SyncReport) -> list[str]:
    """The sync report as printed: counts, then each change (MPs' public details only)."""
    lines = [
        f"Current members read: {report.members_read}; contact lists fetched: "
        f"{report.contacts_fetched}"
        + (
            f"; already done by the interrupted run: {report.already_done}"
            if report.resumed
            else ""
        )
        + ".",
        f"New MPs: {len(report.new_mps)}. Email changes: {len(report.email_changes)}. "
        f"Party changes: {len(report.party_changes)}. Vacancies: {len(report.vacancies)}. "
        f"Other details updated: {report.details_updated}. Unchanged: {report.unchanged}. "
        f"Unmatched members: {len(report.unmatched)}.",
    ]
    lines += [f"  New MP: {_seat(c)}: {c.before} -> {c.member_name}" for c in report.new_mps]
    lines += [
        f"  Email changed: {_seat(c)}, {c.member_name}: {c.before or '(none)'} -> "
        f"{c.after or '(none)'}"
        for c in report.email_changes
    ]
    lines += [
        f"  Party changed: {_seat(c)}, {c.member_name}: {c.before} -> {c.after}"
        for c in report.party_changes
    ]
    lines += [f"  Vacant: {_seat(c)} (was {c.member_name})" for c in report.vacancies]
    lines += [
        f"  Vacancy not applied, the MP is still a current member: {_seat(c)}, {c.member_name}"
        for c in report.vacancies_unconfirmed
    ]
    lines += [
        f"  Unmatched member {u.member_id} {u.name} ({u.constituency_name or 'no constituency'}):"
        f" {u.reason}"
        for u in report.unmatched
    ]
    if report.contacts_missing:
        ids = ", ".join(map(str, report.contacts_missing))
        lines.append(f"  No contact details listed for members {ids}; their previous details kept.")
    if report.vacancies_withheld:
        lines.append(
            f"  {len(report.vacancies_withheld)} seats would have become vacant at once; "
            "nothing was vacated. If that is right (a dissolution), run again with "
            "--allow-mass-vacancies."
        )
    return lines


@mps_command.command("sync")
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=click.IntRange(1, 16),
    help="Contact requests in flight at once.",
)
@click.option(
    "--delay",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0),
    help="Seconds each worker waits before a contact request.",
)
@click.option(
    "--attempts",
    default=4,
    show_default=True,
    type=click.IntRange(1, 10),
    help="Tries per request on timeouts, dropped connections and 5xx.",
)
@click.option(
    "--backoff",
    default=0.5,
    show_default=True,
    type=click.FloatRange(0),
    help="Base of the jittered exponential backoff between tries, in seconds.",
)
@click.option("--restart", is_flag=True, help="Start again instead of resuming an interrupted run.")
@click.option(
    "--allow-mass-vacancies",
    is_flag=True,
    help="Apply vacancies even when many seats would become vacant at once.",
)
def sync_command(
    concurrency: int,
    delay: float,
    attempts: int,
    backoff: float,
    restart: bool,
    allow_mass_vacancies: bool,
) -> None:
    """Refresh the MP directory from Parliament's Members API (resumes an interrupted run)."""
    settings: Settings = current_app.config["SETTINGS"]
    # One retry policy and one breaker for every thread: if Parliament's API is down, the
    # breaker stops all of them, and the run stops with its progress saved.
    retry = RetryPolicy(max_attempts=attempts, base_delay=backoff, max_delay=max(backoff, 8.0))
    breaker = CircuitBreaker(
        failure_threshold=5, reset_timeout=30.0, name="the Parliament members directory"
    )
    with db.new_session() as session:
        if not session.scalar(select(func.count()).select_from(MemberOfParliament)):
            # Seats come from the snapshot (GSS codes are not in the Members API).
            raise click.ClickException("The MP directory is empty: run `advocacy seed` first.")
        sync = MembersSync(
            session,
            lambda http: members_client(settings, http, retry=retry, breaker=breaker),
            concurrency=concurrency,
            delay=delay,
            allow_mass_vacancies=allow_mass_vacancies,
        )
        try:
            report = sync.run(restart=restart)
        except SyncInterrupted as exc:
            for line in format_report(exc.report):
                click.echo(line)
            raise click.ClickException(
                f"Sync interrupted: {exc.reason}. {exc.report.seats_saved} seats are saved; "
                "no seat was made vacant. Run `advocacy mps sync` again to resume."
            ) from None
        finally:
            invalidate_directory_cache()
    click.echo("MP directory sync " + ("resumed and complete." if report.resumed else "complete."))
    for line in format_report(report):
        click.echo(line)
    if report.vacancies_withheld:
        raise click.ClickException("Vacancies withheld; see above.")


@mps_command.command("status")
def status_command() -> None:
    """How many seats the directory holds, how many are vacant or lack an email, and when synced."""
    session = db.session
    seats, vacant, no_email = session.execute(
        select(
            func.count(),
            func.count().filter(MemberOfParliament.member_id.is_(None)),
            func.count().filter(
                MemberOfParliament.member_id.is_not(None), MemberOfParliament.email.is_(None)
            ),
        ).select_from(MemberOfParliament)
    ).one()
    synced = session.scalar(
        select(func.max(MemberOfParliament.confirmed_at)).where(MemberOfParliament.source == SOURCE)
    )
    click.echo(f"Seats: {seats}. Vacant: {vacant}. MPs without an email address: {no_email}.")
    click.echo(f"Last synced: {synced.isoformat() if synced else 'never (shipped snapshot)'}.")
    checkpoint = session.get(SyncCheckpoint, CHECKPOINT_NAME)
    if checkpoint is not None:
        click.echo(
            f"An interrupted sync from {checkpoint.started_at.isoformat()} has applied "
            f"{checkpoint.position} seats; `advocacy mps sync` resumes it."
        )
