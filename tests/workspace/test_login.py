"""Login, the session cookie's rules, logout, timeouts and the login rate limits."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from advocacy import create_app
from advocacy.config import ConfigurationError, Settings
from advocacy.extensions import db
from advocacy.models import AuditEvent, StaffSession, StaffUser
from advocacy.workspace.access import Role
from advocacy.workspace.sessions import COOKIE_NAME
from tests.conftest import make_settings
from tests.workspace.conftest import STAFF_PASSWORD, form_token


def _login(
    client: FlaskClient, email: str, password: str, address: str = "127.0.0.1", **extra: str
) -> TestResponse:
    environ = {"REMOTE_ADDR": address}
    page = client.get("/workspace/login", environ_base=environ)
    data = {"csrf_token": form_token(page.get_data(as_text=True)), "email": email}
    return client.post(
        "/workspace/login",
        data={**data, "password": password, **extra},
        environ_base=environ,
    )


def test_login_sets_a_strict_httponly_cookie_scoped_to_the_workspace(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    user = make_staff(Role.EDITOR, email="editor@staff.example")
    response = _login(client, "Editor@Staff.example", STAFF_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/workspace/"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "Path=/workspace" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # development: plain http
    home = client.get("/workspace/")
    assert home.status_code == 200
    assert user.label in home.get_data(as_text=True)


def test_the_cookie_is_secure_in_production(
    database_url: str, tmp_path: Path, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.VIEWER, email="viewer@staff.example")
    settings = make_settings(database_url, tmp_path / "prod", env={"ADVOCACY_ENV": "production"})
    # A second app rebinds the shared database extension: close the first one's pool
    # rather than leave its connections to the garbage collector.
    db.session.close()
    db.dispose()
    prod = create_app(settings, TESTING=True)
    with prod.app_context():
        client = prod.test_client()
        response = _login(client, "viewer@staff.example", STAFF_PASSWORD)
        assert "Secure" in response.headers["Set-Cookie"]


def test_login_renews_the_session_and_logout_ends_it(
    client: FlaskClient, make_staff: Callable[..., StaffUser], session: Session
) -> None:
    make_staff(Role.VIEWER, email="viewer@staff.example")
    client.set_cookie(COOKIE_NAME, "planted-by-somebody-else", path="/workspace")
    _login(client, "viewer@staff.example", STAFF_PASSWORD)
    cookie = client.get_cookie(COOKIE_NAME, path="/workspace")
    assert cookie is not None
    assert cookie.value != "planted-by-somebody-else"
    home = client.get("/workspace/")
    token = form_token(home.get_data(as_text=True))
    response = client.post("/workspace/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert session.scalars(select(StaffSession)).all() == []
    assert client.get("/workspace/").status_code == 302


def test_logout_needs_the_sessions_own_form_token(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    client = staff_client(Role.OWNER)
    assert client.post("/workspace/logout", data={"csrf_token": "forged"}).status_code == 400
    other = staff_client(Role.OWNER)
    stolen = other.csrf_token  # type: ignore[attr-defined]
    assert client.post("/workspace/logout", data={"csrf_token": stolen}).status_code == 400
    assert client.get("/workspace/").status_code == 200


@pytest.mark.parametrize(
    ("idle", "age", "alive"),
    [
        (timedelta(minutes=29), timedelta(hours=1), True),
        (timedelta(minutes=31), timedelta(hours=1), False),
        (timedelta(minutes=1), timedelta(hours=12, minutes=1), False),
    ],
)
def test_sessions_end_after_30_minutes_idle_and_12_hours_in_all(
    staff_client: Callable[..., FlaskClient],
    session: Session,
    idle: timedelta,
    age: timedelta,
    alive: bool,
) -> None:
    client = staff_client(Role.VIEWER)
    row = session.scalars(select(StaffSession)).one()
    row.last_seen_at -= idle
    row.created_at -= age
    session.commit()
    response = client.get("/workspace/")
    assert (response.status_code == 200) is alive
    if not alive:
        assert session.scalars(select(StaffSession)).all() == []


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(
    client: FlaskClient, make_staff: Callable[..., StaffUser], session: Session
) -> None:
    make_staff(Role.OWNER, email="owner@staff.example")
    unknown = _login(client, "nobody@staff.example", STAFF_PASSWORD)
    wrong = _login(client, "owner@staff.example", "not the right password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.get_data(as_text=True) == wrong.get_data(as_text=True).replace(
        "owner@staff.example", "nobody@staff.example"
    )
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert sorted(e.details["reason"] for e in events) == ["unknown account", "wrong password"]
    # The typed address of an unknown account is not kept.
    assert all("nobody" not in str(e.target) + str(e.details) for e in events)


def test_login_is_limited_per_account(
    app: Flask, client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.OWNER, email="owner@staff.example")
    for _ in range(5):
        assert _login(client, "owner@staff.example", "wrong password!!").status_code == 401
    # Even the right password is refused now, from any address.
    response = _login(app.test_client(), "owner@staff.example", STAFF_PASSWORD, "10.0.0.9")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Unknown accounts are limited the same way, so the limit reveals nothing.
    for _ in range(5):
        _login(client, "nobody@staff.example", "wrong password!!")
    assert _login(client, "nobody@staff.example", "wrong password!!").status_code == 429


def test_login_is_limited_per_address(
    app: Flask, client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.OWNER, email="owner@staff.example")
    for n in range(20):
        assert _login(client, f"guess{n}@staff.example", "wrong password!!").status_code == 401
    assert _login(client, "owner@staff.example", STAFF_PASSWORD).status_code == 429
    ok = _login(app.test_client(), "owner@staff.example", STAFF_PASSWORD, "10.0.0.7")
    assert ok.status_code == 303


def test_a_deactivated_account_cannot_log_in(
    client: FlaskClient, make_staff: Callable[..., StaffUser], session: Session
) -> None:
    user = make_staff(Role.EDITOR, email="gone@staff.example")
    user.is_active = False
    session.commit()
    assert _login(client, "gone@staff.example", STAFF_PASSWORD).status_code == 401


def test_login_only_redirects_inside_the_workspace(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.EDITOR, email="editor@staff.example")
    response = _login(client, "editor@staff.example", STAFF_PASSWORD, next="//evil.example/x")
    assert response.headers["Location"] == "/workspace/"


def test_the_public_journey_still_sets_no_cookie(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.EDITOR, email="editor@staff.example")
    _login(client, "editor@staff.example", STAFF_PASSWORD)
    response = client.get("/healthz")
    assert "Set-Cookie" not in response.headers
    assert db.session is not None


def test_a_malformed_login_limit_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="LOGIN_RATE_LIMIT_ACCOUNT"):
        Settings.from_env({"LOGIN_RATE_LIMIT_ACCOUNT": "lots", "SECRET_KEY": "k"})


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Origin": "https://evil.example"},
        {"Referer": "https://evil.example/page"},
    ],
)
def test_staff_forms_refuse_posts_from_other_pages(
    staff_client: Callable[..., FlaskClient], headers: dict[str, str]
) -> None:
    client = staff_client(Role.OWNER)
    token = client.csrf_token  # type: ignore[attr-defined]
    response = client.post("/workspace/logout", data={"csrf_token": token}, headers=headers)
    assert response.status_code == 400
    assert client.get("/workspace/").status_code == 200
    ours = client.post(
        "/workspace/logout", data={"csrf_token": token}, headers={"Origin": "http://localhost"}
    )
    assert ours.status_code == 303


def test_the_login_form_is_checked_against_base_url_not_host(
    client: FlaskClient, make_staff: Callable[..., StaffUser]
) -> None:
    make_staff(Role.VIEWER, email="viewer@staff.example")
    page = client.get("/workspace/login")
    response = client.post(
        "/workspace/login",
        data={
            "csrf_token": form_token(page.get_data(as_text=True)),
            "email": "viewer@staff.example",
            "password": STAFF_PASSWORD,
        },
        base_url="http://evil.example",
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code != 303
    assert "Set-Cookie" not in response.headers
