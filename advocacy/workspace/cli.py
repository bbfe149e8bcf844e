"""The `advocacy users` commands: the first owner, and account care without a browser."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from advocacy.extensions import db
from advocacy.models import StaffTokenPurpose
from advocacy.workspace import services
from advocacy.workspace.access import Role, record_event


@click.group("users")
def users_command() -> None:
    """Workspace staff accounts."""


@users_command.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.OWNER.value,
    show_default=True,
)
@click.option("--name", default="", help="How the workspace names them.")
@with_appcontext
def create_user(email: str, role: str, name: str) -> None:
    """Create an account and print its single-use set-password link (no password here)."""
    session = db.session
    try:
        user = services.create_user(session, email, Role(role), name)
    except services.WorkspaceError as exc:
        raise click.ClickException(exc.message) from exc
    token = services.issue_token(session, user, StaffTokenPurpose.SET_PASSWORD)
    session.commit()
    record_event("staff.created", target=f"staff:{user.id}", actor=None, role=role, via="cli")
    link = services.link_url(token, current_app.config["SETTINGS"])
    lifetime = services.LINK_LIFETIMES[StaffTokenPurpose.SET_PASSWORD]
    click.echo(f"Created {user.email} ({role}).")
    click.echo(
        f"Open this link to choose a password (it works once, for "
        f"{int(lifetime.total_seconds() // 3600)} hours):"
    )
    click.echo(link)


@users_command.command("password-link")
@click.argument("email")
@with_appcontext
def password_link(email: str) -> None:
    """Print a fresh single-use link to choose a new password (a locked-out owner)."""
    session = db.session
    user = services.find_user(session, email)
    if user is None or not user.is_active:
        raise click.ClickException("No active account has that email.")
    purpose = (
        StaffTokenPurpose.RESET_PASSWORD if user.password_hash else StaffTokenPurpose.SET_PASSWORD
    )
    token = services.issue_token(session, user, purpose)
    session.commit()
    record_event("staff.password_link", target=f"staff:{user.id}", actor=None, via="cli")
    click.echo(services.link_url(token, current_app.config["SETTINGS"]))


@users_command.command("list")
@with_appcontext
def list_users() -> None:
    """Every account with its role and status."""
    for user in services.list_users(db.session):
        status = "active" if user.is_active else "deactivated"
        if user.is_active and not user.password_hash:
            status = "invited"
        two_factor = " 2fa" if user.is_totp_enabled else ""
        click.echo(f"{user.email}\t{user.role}\t{status}{two_factor}")


@users_command.command("deactivate")
@click.argument("email")
@with_appcontext
def deactivate_user(email: str) -> None:
    """Deactivate an account and end its sessions."""
    session = db.session
    user = services.find_user(session, email)
    if user is None:
        raise click.ClickException("No account has that email.")
    try:
        services.deactivate(session, user)
    except services.WorkspaceError as exc:
        raise click.ClickException(exc.message) from exc
    session.commit()
    record_event("staff.deactivate", target=f"staff:{user.id}", actor=None, via="cli")
    click.echo(f"Deactivated {user.email}.")
