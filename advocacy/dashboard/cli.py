"""The `advocacy figures` commands."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from advocacy.dashboard.counters import rebuild
from advocacy.extensions import db


@click.group("figures")
def figures_command() -> None:
    """The dashboard's counters."""


@figures_command.command("rebuild")
@with_appcontext
def figures_rebuild() -> None:
    """Recount every campaign's figures from its letters (after a bulk load or a doubt)."""
    with db.transaction() as session:
        rows = rebuild(session)
    click.echo(f"Figures rebuilt: {rows} counter rows.")
