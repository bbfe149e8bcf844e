"""The `advocacy` command: a FlaskGroup with database and seeding subcommands."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup

from advocacy import migrate


def _create_app() -> Flask:
    from advocacy import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """Run and manage the advocacy engine."""


@click.group("db")
def db_command() -> None:
    """Database schema commands."""


@db_command.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Apply migrations up to a revision."""
    current_app.config["SETTINGS"].instance_path.mkdir(parents=True, exist_ok=True)
    migrate.upgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {revision}.")


@db_command.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to a revision."""
    migrate.downgrade(current_app.config["DATABASE_URL"], revision)
    click.echo(f"Database at revision {revision}.")


@click.command("seed")
def seed_command() -> None:
    """Create or update the built-in campaigns and the MP directory snapshot."""
    from advocacy.campaigns.seed import seed_campaigns
    from advocacy.directory.snapshot import load_snapshot
    from advocacy.extensions import db

    with db.transaction() as session:
        created, updated = seed_campaigns(session)
    click.echo(f"Campaigns: {created} created, {updated} updated.")
    with db.transaction() as session:
        report = load_snapshot(session)
    click.echo(f"MP directory: {report}.")


@click.command("dev")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
def dev_command(host: str, port: int) -> None:
    """Run the development web server and a worker that is restarted whenever it exits."""
    from advocacy.supervisor import run_development

    status = run_development(host, port)
    if status:
        raise SystemExit(status)


def init_app(app: Flask) -> None:
    """Register the commands on the app."""
    app.cli.add_command(db_command)
    app.cli.add_command(seed_command)
    app.cli.add_command(dev_command)
