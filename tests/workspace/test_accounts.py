"""Accounts: the first owner from the CLI, invitations and resets by email, two-factor."""

from __future__ import annotations

import email
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pyotp
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.cli import worker_command
from advocacy.models import (
    AuditEvent,
    Notification,
    Partner,
    StaffSession,
    StaffToken,
    StaffUser,
)
from advocacy.workspace import services
from advocacy.workspace.access import Role
from advocacy.workspace.cli import users_command
from tests.workspace.conftest import STAFF_PASSWORD, form_token

NEW_PASSWORD = "plum orchard lantern 42"


def _set_password(client: FlaskClient, link: str, password: str, confirm: str | None = None):
    path = link.removeprefix("http://localhost")
    page = client.get(path)
    assert page.status_code == 200
    return client.post(
        path,
        data={
            "csrf_token": form_token(page.get_data(as_text=True)),
            "password": password,
            "confirm": confirm if confirm is not None else password,
        },
    )


def _login(client: FlaskClient, email_address: str, password: str):
    page = client.get("/workspace/login")
    return client.post(
        "/workspace/login",
        data={
            "csrf_token": form_token(page.get_data(as_text=True)),
            "email": email_address,
            "password": password,
        },
    )


def _outbox(settings: Settings) -> list[email.message.Message]:
    folder = Path(settings.instance_path) / "outbox"
    return [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))]


def _body(message: email.message.Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode()  # type: ignore[union-attr]
    raise AssertionError("no text part")


def test_cli_creates_an_owner_with_a_single_use_link(
    runner: FlaskCliRunner, client: FlaskClient, session: Session
) -> None:
    result = runner.invoke(users_command, ["create", "Owner@Example.org", "--role", "owner"])
    assert result.exit_code == 0, result.output
    link = re.search(r"http://localhost/workspace/set-password/\S+", result.output)
    assert link
    assert "password" not in result.output.split(link.group(0))[1]
    user = session.scalars(select(StaffUser)).one()
    assert (user.email, user.role, user.password_hash) == ("owner@example.org", "owner", None)

    too_short = _set_password(client, link.group(0), "short")
    assert too_short.status_code == 422
    assert "at least 12 characters" in too_short.get_data(as_text=True)
    common = _set_password(client, link.group(0), "password1234")
    assert "common passwords" in common.get_data(as_text=True)
    mismatch = _set_password(client, link.group(0), NEW_PASSWORD, "something else entirely")
    assert "different" in mismatch.get_data(as_text=True)

    done = _set_password(client, link.group(0), NEW_PASSWORD)
    assert done.status_code == 303
    session.expire_all()
    assert user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    # The link works once.
    assert client.get(link.group(0).removeprefix("http://localhost")).status_code == 404
    assert _login(client, "owner@example.org", NEW_PASSWORD).status_code == 303
    actions = session.scalars(select(AuditEvent.action)).all()
    assert {"staff.created", "password.set", "login"} <= set(actions)


def test_cli_refuses_a_second_account_with_the_same_email(
    runner: FlaskCliRunner, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.OWNER, email="owner@example.org")
    result = runner.invoke(users_command, ["create", "owner@example.org"])
    assert result.exit_code != 0
    assert "already an account" in result.output


def test_an_expired_link_is_refused(
    runner: FlaskCliRunner, client: FlaskClient, session: Session
) -> None:
    result = runner.invoke(users_command, ["create", "late@example.org"])
    link = re.search(r"http://localhost(/workspace/set-password/\S+)", result.output)
    assert link
    token = session.scalars(select(StaffToken)).one()
    token.expires_at -= timedelta(hours=73)
    session.commit()
    page = client.get(link.group(1))
    assert page.status_code == 404
    assert "no longer works" in page.get_data(as_text=True)
    assert client.get(link.group(1)[:-3] + "abc").status_code == 404


def test_an_owner_invites_by_email_sent_by_the_worker(
    staff_client: Callable[..., FlaskClient],
    runner: FlaskCliRunner,
    settings: Settings,
    session: Session,
    app: Flask,
) -> None:
    owner = staff_client(Role.OWNER)
    response = owner.post(
        "/workspace/staff/invite",
        data={
            "csrf_token": owner.csrf_token,  # type: ignore[attr-defined]
            "email": "new.editor@example.org",
            "name": "New Editor",
            "role": "editor",
        },
    )
    assert response.status_code == 303
    assert "Invitation sent" in owner.get("/workspace/staff").get_data(as_text=True)
    assert session.scalars(select(Notification)).one().staff_token_id is not None
    result = runner.invoke(worker_command, ["--once"])
    assert result.exit_code == 0, result.output
    (message,) = _outbox(settings)
    assert message["To"].endswith("<new.editor@example.org>")
    link = re.search(r"http://localhost/workspace/set-password/\S+", _body(message))
    assert link
    newcomer = app.test_client()
    assert _set_password(newcomer, link.group(0), NEW_PASSWORD).status_code == 303
    assert _login(newcomer, "new.editor@example.org", NEW_PASSWORD).status_code == 303
    assert newcomer.get("/workspace/staff").status_code == 403


def test_a_spent_invitation_is_not_sent(
    staff_client: Callable[..., FlaskClient],
    runner: FlaskCliRunner,
    settings: Settings,
    session: Session,
) -> None:
    owner = staff_client(Role.OWNER)
    data = {"csrf_token": owner.csrf_token, "email": "x@example.org", "role": "viewer"}  # type: ignore[attr-defined]
    owner.post("/workspace/staff/invite", data=data)
    user = services.find_user(session, "x@example.org")
    assert user is not None
    owner.post(f"/workspace/staff/{user.id}/resend", data={"csrf_token": owner.csrf_token})  # type: ignore[attr-defined]
    runner.invoke(worker_command, ["--once"])
    # The first link was replaced by the second, so only the second goes out.
    assert len(_outbox(settings)) == 1


def test_password_reset_says_the_same_for_unknown_addresses(
    client: FlaskClient,
    make_staff: Callable[..., StaffUser],
    runner: FlaskCliRunner,
    settings: Settings,
) -> None:
    make_staff(Role.EDITOR, email="editor@example.org")

    def ask(address: str) -> str:
        page = client.get("/workspace/reset")
        response = client.post(
            "/workspace/reset",
            data={"csrf_token": form_token(page.get_data(as_text=True)), "email": address},
        )
        assert response.status_code == 200
        return response.get_data(as_text=True)

    assert ask("editor@example.org") == ask("nobody@example.org")
    runner.invoke(worker_command, ["--once"])
    (message,) = _outbox(settings)
    link = re.search(r"http://localhost/workspace/reset/\S+", _body(message))
    assert link
    assert _set_password(client, link.group(0), NEW_PASSWORD).status_code == 303
    assert _login(client, "editor@example.org", STAFF_PASSWORD).status_code == 401
    assert _login(client, "editor@example.org", NEW_PASSWORD).status_code == 303


def test_two_factor_setup_and_login_with_a_code(
    staff_client: Callable[..., FlaskClient], app: Flask, session: Session
) -> None:
    client = staff_client(Role.EDITOR, email="two@example.org")
    token = client.csrf_token  # type: ignore[attr-defined]
    client.post("/workspace/account/two-factor", data={"csrf_token": token, "action": "begin"})
    page = client.get("/workspace/account/two-factor").get_data(as_text=True)
    assert "<svg" in page
    user: StaffUser = client.staff_user  # type: ignore[attr-defined]
    session.refresh(user)
    assert user.totp_secret
    totp = pyotp.TOTP(user.totp_secret)
    bad = client.post(
        "/workspace/account/two-factor",
        data={"csrf_token": token, "action": "confirm", "code": "000000"},
    )
    assert bad.status_code == 422
    enabling_code = totp.now()
    ok = client.post(
        "/workspace/account/two-factor",
        data={"csrf_token": token, "action": "confirm", "code": enabling_code},
    )
    assert ok.status_code == 303

    fresh = app.test_client()
    first = _login(fresh, "two@example.org", STAFF_PASSWORD)
    assert first.headers["Location"].startswith("/workspace/login/code")
    # Password alone is not a login.
    assert fresh.get("/workspace/").status_code == 302
    code_page = fresh.get(first.headers["Location"])
    csrf = form_token(code_page.get_data(as_text=True))
    # The code just used to turn 2FA on cannot be replayed.
    # (The same code, not totp.now(): a 30-second step may have passed since.)
    replay = fresh.post("/workspace/login/code", data={"csrf_token": csrf, "code": enabling_code})
    assert replay.status_code == 401
    session.refresh(user)
    user.totp_last_step = (user.totp_last_step or 0) - 5
    session.commit()
    done = fresh.post("/workspace/login/code", data={"csrf_token": csrf, "code": totp.now()})
    assert done.status_code == 303
    assert fresh.get("/workspace/").status_code == 200


def test_an_owner_can_require_two_factor_for_everybody(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    owner = staff_client(Role.OWNER)
    editor = staff_client(Role.EDITOR)
    response = owner.post(
        "/workspace/security",
        data={"csrf_token": owner.csrf_token, "require_two_factor": "y"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 303
    page = editor.get("/workspace/")
    assert page.status_code == 302
    assert page.headers["Location"] == "/workspace/account/two-factor"
    assert editor.get("/workspace/account/two-factor").status_code == 200
    # Logging out still works before set-up.
    out = editor.post("/workspace/logout", data={"csrf_token": editor.csrf_token})  # type: ignore[attr-defined]
    assert out.status_code == 303


def test_deactivating_a_user_ends_their_sessions_and_the_last_owner_stays(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    owner = staff_client(Role.OWNER)
    viewer = staff_client(Role.VIEWER)
    target = viewer.staff_user.id  # type: ignore[attr-defined]
    csrf = {"csrf_token": owner.csrf_token}  # type: ignore[attr-defined]
    assert owner.post(f"/workspace/staff/{target}/deactivate", data=csrf).status_code == 303
    assert viewer.get("/workspace/").status_code == 302
    me = owner.staff_user.id  # type: ignore[attr-defined]
    refused = owner.post(f"/workspace/staff/{me}/role", data={**csrf, "role": "viewer"})
    assert refused.status_code == 422
    assert "only owner" in refused.get_data(as_text=True)
    log = owner.get("/workspace/audit").get_data(as_text=True)
    assert "staff.deactivate" in log


def test_the_audit_log_is_for_owners_only(staff_client: Callable[..., FlaskClient]) -> None:
    assert staff_client(Role.EDITOR).get("/workspace/audit").status_code == 403
    assert staff_client(Role.OWNER).get("/workspace/audit").status_code == 200


def test_a_partner_account_belongs_to_a_partner_organisation(
    runner: FlaskCliRunner, session: Session, staff_client: Callable[..., FlaskClient]
) -> None:
    session.add(Partner(slug="amnesty-leeds", name="Amnesty Leeds"))
    session.commit()
    refused = runner.invoke(users_command, ["create", "p@example.org", "--role", "partner"])
    assert refused.exit_code != 0
    assert "partner organisation" in refused.output
    made = runner.invoke(
        users_command,
        ["create", "p@example.org", "--role", "partner", "--partner", "amnesty-leeds"],
    )
    assert made.exit_code == 0, made.output
    user = services.find_user(session, "p@example.org")
    assert user is not None
    assert user.partner_id is not None
    owner = staff_client(Role.OWNER)
    page = owner.get("/workspace/staff").get_data(as_text=True)
    assert '<option value="amnesty-leeds">Amnesty Leeds</option>' in page
    # Another role cannot be turned into a partner without an organisation.
    viewer = services.create_user(session, "v@example.org", Role.VIEWER)
    session.commit()
    response = owner.post(
        f"/workspace/staff/{viewer.id}/role",
        data={"csrf_token": owner.csrf_token, "role": "partner"},  # type: ignore[attr-defined]
    )
    assert response.status_code == 422


def test_the_code_step_of_a_login_expires_after_five_minutes(
    staff_client: Callable[..., FlaskClient], app: Flask, session: Session
) -> None:
    client = staff_client(Role.VIEWER, email="slow@example.org")
    user: StaffUser = client.staff_user  # type: ignore[attr-defined]
    services.begin_totp(user)
    user.is_totp_enabled = True
    session.commit()
    fresh = app.test_client()
    first = _login(fresh, "slow@example.org", STAFF_PASSWORD)
    assert first.headers["Location"].startswith("/workspace/login/code")
    pending = session.scalars(
        select(StaffSession).where(StaffSession.is_pending_totp.is_(True))
    ).one()
    pending.created_at -= timedelta(minutes=6)
    session.commit()
    again = fresh.get(first.headers["Location"])
    assert again.status_code == 302
    assert again.headers["Location"].startswith("/workspace/login")
