"""Fixtures for staff pages: accounts with a role and test clients logged in as them.

Other packages' tests reuse them by importing them into their own conftest.py:
`from tests.workspace.conftest import _cheap_password_hashes, make_staff, staff_client`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.models import StaffSession, StaffUser, utcnow
from advocacy.workspace import passwords
from advocacy.workspace.access import Role
from advocacy.workspace.sessions import COOKIE_NAME, COOKIE_PATH, token_hash

STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2 with minimal cost: the same code path, without seconds per login test."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(passwords, "_hasher", cheap)
    monkeypatch.setattr(passwords, "_DUMMY_HASH", cheap.hash("timing only"))
    _HASH_CACHE.clear()


# One hash for every fixture account: Argon2 is slow on purpose, tests need not be.
_HASH_CACHE: dict[str, str] = {}


def _password_hash(password: str) -> str:
    if password not in _HASH_CACHE:
        _HASH_CACHE[password] = passwords.hash_password(password)
    return _HASH_CACHE[password]


def create_staff(
    session: Session,
    role: Role | str,
    *,
    email: str | None = None,
    password: str | None = STAFF_PASSWORD,
    name: str = "",
) -> StaffUser:
    """A saved, active account with a role (and a password unless None)."""
    role = Role(role)
    user = StaffUser(
        email=email or f"{role.value}-{secrets.token_hex(3)}@staff.example",
        name=name or f"Test {role.value}",
        role=role.value,
        password_hash=_password_hash(password) if password else None,
    )
    session.add(user)
    session.commit()
    return user


def log_in(client: FlaskClient, session: Session, user: StaffUser) -> FlaskClient:
    """Give `client` a live workspace session for `user`, as the login page would.

    The client gains `staff_user` and `csrf_token` attributes for posting forms.
    """
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    client.set_cookie(COOKIE_NAME, token, path=COOKIE_PATH)
    client.staff_user = user  # type: ignore[attr-defined]
    client.csrf_token = csrf  # type: ignore[attr-defined]
    return client


@pytest.fixture
def make_staff(app: Flask, session: Session) -> Callable[..., StaffUser]:
    """Create an account: make_staff("editor", email=...)."""

    def make(role: Role | str, **kwargs: object) -> StaffUser:
        return create_staff(session, role, **kwargs)  # type: ignore[arg-type]

    return make


@pytest.fixture
def staff_client(app: Flask, session: Session) -> Callable[..., FlaskClient]:
    """A new test client logged in with a role: staff_client("owner")."""

    def make(role: Role | str, **kwargs: object) -> FlaskClient:
        user = create_staff(session, role, **kwargs)  # type: ignore[arg-type]
        return log_in(app.test_client(), session, user)

    return make


def form_token(html: str) -> str:
    """The csrf_token of the first form in a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert match, "no csrf_token in the page"
    return match.group(1)
