"""The submit benchmark's floor does a submission's database work, no less and no more.

bench/peer_app.py's `/letter` writes what the send form posts straight into the app's schema
with plain sqlite3, so that its ratio bounds what any submission could reach. That bound
means something only while its rows are the rows the app writes: this compares them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from bench import peer_app
from tests.campaigns.conftest import CAMPAIGN, preview_form


@pytest.fixture
def peer(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """The peer app, writing its letters into the test's migrated database."""
    if not database_url.startswith("sqlite:///"):
        pytest.skip("the peer writes through plain sqlite3")
    monkeypatch.setenv("PEER_LETTERS_DATABASE", database_url.removeprefix("sqlite:///"))
    monkeypatch.setenv("PEER_DATABASE", str(tmp_path / "peer.db"))
    yield peer_app.app
    # The peer keeps one connection per thread; this test's database is gone after it.
    for name in ("letters", "connection"):
        connection = getattr(peer_app._local, name, None)
        if connection is not None:
            connection.close()
            delattr(peer_app._local, name)


def _row(session: Session, email: str) -> dict[str, object]:
    row = session.execute(
        text("SELECT * FROM letters WHERE sender_email = :email"), {"email": email}
    ).one()
    return dict(row._mapping)


def test_the_floor_saves_the_rows_a_submission_saves(
    seeded: Flask, client: FlaskClient, session: Session, peer: Flask
) -> None:
    form = preview_form(client)
    assert client.post(f"/campaigns/{CAMPAIGN}/send", data=form).status_code == 303
    floor_form = {**form, "email": "floor@example.org", "name": "Floor Writer"}
    answer = peer.test_client().post("/letter", data=floor_form)
    assert answer.status_code == 303

    session.expire_all()
    app_row, floor_row = _row(session, "ayesha@example.org"), _row(session, "floor@example.org")
    filled = {key for key, value in app_row.items() if value is not None}
    assert filled == {key for key, value in floor_row.items() if value is not None}
    # The same campaign, template, MP and constituency as the benchmark's submissions.
    same = ("campaign_id", "template_id", "recipient_member_id", "constituency_code", "state")
    assert {key: floor_row[key] for key in same} == {key: app_row[key] for key in same}
    assert floor_row["body_text"] == form["body"]
    # Each has its confirmation email queued, and the counting triggers counted both.
    emails = session.execute(
        text("SELECT letter_id FROM notifications WHERE kind = 'confirmation'")
    ).scalars()
    assert set(emails) == {app_row["id"], floor_row["id"]}
    written = session.execute(
        text(
            "SELECT written, state_awaiting FROM campaign_counts "
            "WHERE campaign_id = :id AND dimension = 'campaign'"
        ),
        {"id": app_row["campaign_id"]},
    ).one()
    assert tuple(written) == (2, 2)


def test_the_floor_refuses_a_form_without_an_email(peer: Flask) -> None:
    answer = peer.test_client().post("/letter", data={"email": "nobody"})
    assert answer.status_code == 422
