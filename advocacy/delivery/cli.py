"""The `advocacy worker` command."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.delivery.mail import make_backend
from advocacy.delivery.queue import queue_letter
from advocacy.delivery.worker import RetryPolicy, Worker
from advocacy.extensions import db
from advocacy.models import IllegalTransition, Letter, LetterState
from advocacy.supervisor import on_shutdown_signals


@click.command("worker")
@click.option("--once", is_flag=True, help="Drain what is due, then exit.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="Requests in flight at once (default: WORKER_CONCURRENCY).",
)
@click.option("--batch-size", type=click.IntRange(1, 1000), default=None, hidden=True)
@click.option("--max-attempts", type=click.IntRange(1, 100), default=8, hidden=True)
@click.option("--retry-base", type=click.FloatRange(0.0), default=30.0, hidden=True)
@with_appcontext
def worker_command(
    once: bool,
    concurrency: int | None,
    batch_size: int | None,
    max_attempts: int,
    retry_base: float,
) -> None:
    """Send queued letters and system emails."""
    settings = current_app.config["SETTINGS"]
    worker = Worker(
        settings,
        make_backend(settings),
        concurrency=concurrency,
        batch_size=batch_size,
        retry=RetryPolicy(max_attempts=max_attempts, base_seconds=retry_base),
    )
    with on_shutdown_signals(worker.stop):
        report = worker.run(once=once)
    click.echo(f"Worker stopped: {report.summary()}.")
    if report.auth_failed:
        raise click.ClickException(
            "SendGrid refused the API key, so nothing was sent and the queue is intact. "
            "Check SENDGRID_API_KEY (it needs the Mail Send permission); a worker running "
            "without --once pauses instead, and resumes by itself once the key works."
        )


@click.group("letters")
def letters_command() -> None:
    """Review letters: list them by state, requeue or fail those held for review."""


@letters_command.command("list")
@click.option(
    "--state",
    type=click.Choice([s.value for s in LetterState]),
    default=LetterState.HELD.value,
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@with_appcontext
def letters_list(state: str, limit: int) -> None:
    """List letters in a state, oldest change first; shows no personal data."""
    with db.new_session() as session:
        letters = session.scalars(
            select(Letter)
            .where(Letter.state == LetterState(state))
            .order_by(Letter.state_changed_at, Letter.id)
            .limit(limit)
        ).all()
        for letter in letters:
            flags = " possible-duplicate" if letter.is_possible_duplicate else ""
            click.echo(
                f"{letter.public_id}  {letter.state}  {letter.state_changed_at:%Y-%m-%d %H:%M}  "
                f"{letter.constituency_code or '-'}  key={letter.idempotency_key}{flags}"
            )
            if letter.failure_reason:
                click.echo(f"    {letter.failure_reason}")
        click.echo(f"{len(letters)} letter(s) {state}.")


def _reviewed_letter(session: Session, public_id: str) -> Letter:
    letter = session.scalars(select(Letter).where(Letter.public_id == public_id)).first()
    if letter is None:
        raise click.ClickException(f"No letter {public_id}.")
    return letter


@letters_command.command("requeue")
@click.argument("public_id")
@with_appcontext
def letters_requeue(public_id: str) -> None:
    """Queue a held or failed letter to be sent (again)."""
    with db.transaction() as session:
        letter = _reviewed_letter(session, public_id)
        try:
            queue_letter(session, letter)
        except IllegalTransition as exc:
            raise click.ClickException(f"Letter {public_id} is {letter.state}: {exc}.") from exc
    click.echo(f"Letter {public_id} queued.")


@letters_command.command("fail")
@click.argument("public_id")
@click.option("--reason", required=True, help="Why it will not be sent (kept on the letter).")
@with_appcontext
def letters_fail(public_id: str, reason: str) -> None:
    """Give up on a held letter, recording why."""
    with db.transaction() as session:
        letter = _reviewed_letter(session, public_id)
        try:
            letter.transition(LetterState.FAILED, reason=f"by review: {reason}")
        except IllegalTransition as exc:
            raise click.ClickException(f"Letter {public_id} is {letter.state}: {exc}.") from exc
    click.echo(f"Letter {public_id} marked failed.")
