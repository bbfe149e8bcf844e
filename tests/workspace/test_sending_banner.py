"""Every workspace page warns staff when letters are not going out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from advocacy.models import WorkerState, WorkerStatus, utcnow


def add_worker(session: Session, *, age: float, **values: object) -> None:
    """A worker status row whose last heartbeat was `age` seconds ago."""
    at = utcnow() - timedelta(seconds=age)
    session.add(
        WorkerStatus(
            owner=f"host:{age}:x",
            started_at=at,
            state_changed_at=at,
            heartbeat_at=at,
            heartbeat_seconds=15.0,
            **values,
        )
    )
    session.commit()


def test_paused_sending_shows_a_banner_with_the_reason(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    client = staff_client("viewer")
    assert "Letters are not being sent" not in client.get("/workspace/").get_data(as_text=True)
    add_worker(
        session,
        age=1,
        state=WorkerState.PAUSED,
        reason="SendGrid refused the API key (401: authorization required)",
    )
    page = client.get("/workspace/").get_data(as_text=True)
    assert "Letters are not being sent" in page
    assert "SendGrid refused the API key (401: authorization required)" in page


def test_a_vanished_worker_shows_the_banner_too(
    staff_client: Callable[..., FlaskClient], session: Session
) -> None:
    client = staff_client("viewer")
    add_worker(session, age=600)
    page = client.get("/workspace/").get_data(as_text=True)
    assert "no delivery worker has been heard from" in page


def test_the_banner_is_not_shown_before_login(client: FlaskClient, session: Session) -> None:
    add_worker(session, age=600)
    page = client.get("/workspace/login").get_data(as_text=True)
    assert "Letters are not being sent" not in page
