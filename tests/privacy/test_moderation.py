"""The moderation queue: held letters with their reason and their look-alikes, for staff only."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.compose import compose_notification
from advocacy.delivery.queue import TWICE_IN_FLIGHT, queue_letter
from advocacy.models import (
    AuditEvent,
    Campaign,
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    utcnow,
)
from advocacy.privacy import moderation
from advocacy.privacy.services import enforce_retention
from advocacy.security import make_confirmation_token
from tests.campaigns.conftest import csrf_token
from tests.words.conftest import (
    CIRCULATED,
    CIRCULATED_AGAIN,
    OWN_WORDS,
    campaign,
    postcodes_io,
    seeded,
    settings,
)
from tests.words.test_services import _confirm, _fill, _letter
from tests.workspace.conftest import _cheap_password_hashes, staff_client

__all__ = [
    "_cheap_password_hashes",
    "campaign",
    "postcodes_io",
    "seeded",
    "settings",
    "staff_client",
]

StaffClient = Callable[..., FlaskClient]


def _held_copy(session: Session, campaign: Campaign, settings: Settings) -> Letter:
    _fill(session, campaign, settings, [OWN_WORDS[0], CIRCULATED])
    copy = _letter(session, campaign, CIRCULATED_AGAIN, n=1)
    assert _confirm(session, copy, settings) is not None
    return copy


def _actions(session: Session) -> list[tuple[str, str | None]]:
    return [
        (e.action, e.target) for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))
    ]


def test_queue_needs_the_moderate_permission(
    staff_client: StaffClient, client: FlaskClient
) -> None:
    assert client.get("/workspace/moderation").status_code == 302
    assert staff_client("viewer").get("/workspace/moderation").status_code == 403
    assert staff_client("partner").get("/workspace/moderation").status_code == 403
    assert staff_client("editor").get("/workspace/moderation").status_code == 200


def test_queue_shows_the_reason_and_the_letters_side_by_side(
    staff_client: StaffClient, session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    duplicate = _letter(session, campaign, OWN_WORDS[3], n=2)
    queue_letter(session, duplicate)
    duplicate.transition(LetterState.SENDING)
    duplicate.transition(LetterState.HELD, reason=TWICE_IN_FLIGHT)
    session.commit()
    page = staff_client("editor").get("/workspace/moderation").get_data(as_text=True)
    assert f"Letter {copy.id} to" in page
    assert "Near-copy" in page
    assert "1.00 similar to 1 other letter to the same MP" in page
    # The original circulated paragraph, beside the copy.
    assert CIRCULATED[:60] in page
    assert "Possible duplicate" in page
    assert OWN_WORDS[0][:40] not in page


def test_approve_queues_the_letter_and_is_audited(
    staff_client: StaffClient, session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    editor = staff_client("editor")
    page = editor.get("/workspace/moderation").get_data(as_text=True)
    answer = editor.post(
        f"/workspace/moderation/{copy.id}/approve", data={"csrf_token": csrf_token(page)}
    )
    assert answer.status_code == 303
    shown = editor.get(answer.headers["Location"])
    assert shown.headers["Cache-Control"] == "no-store"
    assert "approved and will be sent" in shown.get_data(as_text=True)
    session.expire_all()
    assert session.get(Letter, copy.id).state == LetterState.QUEUED  # type: ignore[union-attr]
    assert ("moderation.approve", f"letter:{copy.id}") in _actions(session)
    again = editor.post(
        f"/workspace/moderation/{copy.id}/approve", data={"csrf_token": csrf_token(page)}
    )
    assert again.status_code == 409


def test_reject_needs_a_reason_and_fails_the_letter(
    staff_client: StaffClient, session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    editor = staff_client("editor")
    token = csrf_token(editor.get("/workspace/moderation").get_data(as_text=True))
    url = f"/workspace/moderation/{copy.id}/reject"
    assert editor.post(url, data={"csrf_token": token, "reason": "  "}).status_code == 422
    assert editor.post(url, data={"csrf_token": token, "reason": "pasted"}).status_code == 303
    session.expire_all()
    letter = session.get(Letter, copy.id)
    assert letter is not None
    assert letter.state == LetterState.FAILED
    assert letter.failure_reason == "refused after review: pasted"
    assert ("moderation.reject", f"letter:{copy.id}") in _actions(session)


def test_a_forged_staff_form_is_refused(
    staff_client: StaffClient, session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    answer = staff_client("editor").post(
        f"/workspace/moderation/{copy.id}/approve", data={"csrf_token": "forged"}
    )
    assert answer.status_code == 400
    session.expire_all()
    assert session.get(Letter, copy.id).state == LetterState.HELD  # type: ignore[union-attr]


def test_edit_and_ask_the_writer_who_sends_it_as_edited(
    app: Flask,
    staff_client: StaffClient,
    client: FlaskClient,
    session: Session,
    campaign: Campaign,
    settings: Settings,
) -> None:
    copy = _held_copy(session, campaign, settings)
    editor = staff_client("editor")
    token = csrf_token(editor.get("/workspace/moderation").get_data(as_text=True))
    edited = copy.body_text.replace(
        CIRCULATED_AGAIN, "Please tell me what you will do, in your own words."
    )
    answer = editor.post(
        f"/workspace/moderation/{copy.id}/ask-writer", data={"csrf_token": token, "body": edited}
    )
    assert answer.status_code == 303
    assert ("moderation.ask_writer", f"letter:{copy.id}") in _actions(session)
    note = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.REVIEW_REQUEST)
    ).one()
    email = compose_notification(note, settings)
    assert email.to_email == copy.sender_email
    link = re.search(r"http://localhost(/letters/review/\S+)", email.text)
    assert link
    page = client.get(link.group(1)).get_data(as_text=True)
    assert "Please tell me what you will do" in page
    mine = edited + "\n\nP.S. My own postscript."
    sent = client.post(link.group(1), data={"csrf_token": csrf_token(page), "body": mine})
    assert sent.status_code == 303
    session.expire_all()
    letter = session.get(Letter, copy.id)
    assert letter is not None
    assert letter.state == LetterState.QUEUED
    assert letter.body_text.endswith("My own postscript.")
    # The link is spent once the letter is on its way.
    assert "Nothing more to do" in client.get(link.group(1)).get_data(as_text=True)


def test_the_review_link_cannot_confirm_and_the_confirm_link_cannot_review(
    client: FlaskClient, session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    moderation.ask_writer(session, copy.id, copy.body_text)
    confirm = make_confirmation_token(copy.public_id, copy.idempotency_key)
    assert client.get(f"/letters/review/{confirm}").status_code == 404


@pytest.mark.parametrize("body", ["", "x" * 12001])
def test_ask_writer_refuses_an_empty_or_huge_letter(
    session: Session, campaign: Campaign, settings: Settings, body: str
) -> None:
    copy = _held_copy(session, campaign, settings)
    with pytest.raises(moderation.ReviewError):
        moderation.ask_writer(session, copy.id, body)


def test_approving_a_held_letter_queues_it(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    approved = moderation.approve(session, copy.id)
    assert approved.state == LetterState.QUEUED
    assert approved.next_attempt_at is not None
    assert approved.failure_reason is None
    assert moderation.held_letters(session, settings) == []


def test_rejecting_needs_a_reason_and_keeps_it(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    with pytest.raises(moderation.ReviewError, match="give a reason"):
        moderation.reject(session, copy.id, "  ")
    rejected = moderation.reject(session, copy.id, "pasted   from a chain message")
    assert rejected.state == LetterState.FAILED
    assert rejected.failure_reason == "refused after review: pasted from a chain message"


def test_review_refuses_letters_not_held(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    [queued] = _fill(session, campaign, settings, [OWN_WORDS[5]])
    with pytest.raises(moderation.ReviewError, match="not held for review"):
        moderation.approve(session, queued.id)
    with pytest.raises(moderation.ReviewError, match="not held for review"):
        moderation.reject(session, 999_999, "no")
    assert session.get(Letter, queued.id).state == LetterState.QUEUED  # type: ignore[union-attr]


def test_an_edit_the_writer_never_sends_is_erased_when_its_link_expires(
    session: Session, campaign: Campaign, settings: Settings
) -> None:
    copy = _held_copy(session, campaign, settings)
    moderation.ask_writer(session, copy.id, copy.body_text + "\n\nEdited.")
    enforce_retention(session, settings)
    session.expire_all()
    assert session.get(Letter, copy.id).purged_at is None  # type: ignore[union-attr]
    letter = session.get(Letter, copy.id)
    assert letter is not None
    letter.state_changed_at = utcnow() - timedelta(days=7, minutes=1)
    session.commit()
    enforce_retention(session, settings)
    session.expire_all()
    erased = session.get(Letter, copy.id)
    assert erased is not None
    assert erased.purged_at is not None
    assert erased.state == LetterState.FAILED
    assert erased.body_text == ""
