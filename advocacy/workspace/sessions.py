"""Workspace sessions: kept on the server, named by a cookie that only /workspace receives.

The public journey sets no cookie. Staff need to stay logged in, so the workspace sets one,
scoped to the /workspace path, HttpOnly, SameSite=Strict and Secure in production. It holds
a random token; the database keeps only the token's hash, so a copy of the database logs
nobody in, and logging out or deactivating an account ends its sessions at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from advocacy.extensions import db
from advocacy.models import StaffSession, StaffUser, utcnow

COOKIE_NAME = "workspace_session"
COOKIE_PATH = "/workspace"
IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# Between two requests closer than this, last_seen_at is not rewritten.
TOUCH_INTERVAL = timedelta(seconds=60)


def token_hash(token: str) -> str:
    """The stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _is_expired(row: StaffSession) -> bool:
    now = utcnow()
    return now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > ABSOLUTE_TIMEOUT


def load_session(*, allow_pending: bool = False) -> StaffSession | None:
    """The live session named by this request's cookie, or None; expired ones are deleted."""
    token = request.cookies.get(COOKIE_NAME, "")
    if not token or len(token) > 200:
        return None
    session = db.session
    row = session.scalars(
        select(StaffSession).where(StaffSession.token_hash == token_hash(token))
    ).first()
    if row is None:
        return None
    if _is_expired(row) or not row.user.is_active:
        session.delete(row)
        session.commit()
        return None
    if row.is_pending_totp and not allow_pending:
        return None
    if utcnow() - row.last_seen_at > TOUCH_INTERVAL:
        row.last_seen_at = utcnow()
        session.commit()
    return row


def start_session(session: Session, user: StaffUser, *, pending_totp: bool = False) -> str:
    """Open a new session for `user` (ending the one this browser had); return its token.

    A fresh token at every login means a token planted in someone's browser before they
    logged in is worth nothing afterwards (session fixation).
    """
    old = request.cookies.get(COOKIE_NAME, "")
    if old:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(old)))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        StaffSession(
            token_hash=token_hash(token),
            user_id=user.id,
            csrf_token=secrets.token_urlsafe(32),
            is_pending_totp=pending_totp,
            created_at=now,
            last_seen_at=now,
        )
    )
    return token


def end_session(session: Session) -> None:
    """Delete this browser's session, if any."""
    token = request.cookies.get(COOKIE_NAME, "")
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def end_all_sessions(session: Session, user_id: int) -> None:
    """Log a user out everywhere (password change, deactivation)."""
    session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))


def purge_expired(session: Session) -> int:
    """Delete sessions that can no longer be used; returns how many."""
    now = utcnow()
    result = session.execute(
        delete(StaffSession).where(
            (StaffSession.last_seen_at < now - IDLE_TIMEOUT)
            | (StaffSession.created_at < now - ABSOLUTE_TIMEOUT)
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def set_cookie(response: Response, token: str) -> None:
    """Attach the session cookie with the workspace's rules."""
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        path=COOKIE_PATH,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )


def clear_cookie(response: Response) -> None:
    """Remove the session cookie from the browser."""
    response.delete_cookie(
        COOKIE_NAME,
        path=COOKIE_PATH,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Strict",
    )
