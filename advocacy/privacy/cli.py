"""`advocacy privacy export EMAIL` and `advocacy privacy erase EMAIL`, for staff.

Both are written to the audit log with counts only: the address never leaves the command.
"""

from __future__ import annotations

import json

import click
from flask import current_app

from advocacy.extensions import db
from advocacy.privacy import audit, services
from advocacy.privacy.registry import DataSubject


def _subject(email: str) -> DataSubject:
    return DataSubject.from_email(email, current_app.config["SECRET_KEY"])


@click.group("privacy")
def privacy_command() -> None:
    """See or erase everything held about one email address."""


@privacy_command.command("export")
@click.argument("email")
def export_command(email: str) -> None:
    """Print everything held about EMAIL as JSON."""
    with db.new_session() as session:
        export = services.export_person(session, _subject(email))
    rows = sum(len(r) for r in export.tables.values())
    audit.record("privacy.export", via="command line", tables=len(export.tables), rows=rows)
    click.echo(json.dumps(export.as_dict(), indent=2, ensure_ascii=False))


@privacy_command.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str, yes: bool) -> None:
    """Erase everything held about EMAIL now; the counts stay."""
    subject = _subject(email)
    with db.new_session() as session:
        held = services.held_counts(session, subject)
        if not any(held.values()):
            click.echo("Nothing is held about that address.")
            return
        summary = ", ".join(f"{n} in {table}" for table, n in held.items() if n)
        if not yes:
            click.confirm(f"Erase {summary}? This cannot be undone.", abort=True)
        erased = services.erase_person(session, subject)
    audit.record("privacy.erase", via="command line", rows=sum(erased.values()))
    click.echo(f"Erased: {summary}. The counts stay.")
