"""The queue: saved and queued together, leased to one worker, recovered after a crash."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.delivery import queue
from advocacy.extensions import db
from advocacy.models import (
    Campaign,
    IllegalTransition,
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    NotificationState,
    utcnow,
)
from tests.delivery.helpers import add_queued, add_submitted, new_letter, reload

POLICY = queue.ClaimPolicy(lease=timedelta(seconds=30))


def test_submit_letter_saves_letter_and_confirmation_together(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    letter = new_letter(campaign)
    notification = queue.submit_letter(session, letter)
    session.commit()
    assert letter.id is not None
    assert notification.letter_id == letter.id
    assert notification.kind == NotificationKind.CONFIRMATION
    assert notification.state == NotificationState.QUEUED
    assert notification.next_attempt_at is not None
    assert letter.state == LetterState.AWAITING_CONFIRMATION


def test_submit_letter_rolled_back_leaves_nothing_queued(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    queue.submit_letter(session, new_letter(campaign))
    session.flush()
    session.rollback()
    assert session.scalars(select(Letter)).all() == []
    assert session.scalars(select(Notification)).all() == []


def test_queue_letter_moves_to_queued_in_the_callers_transaction(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    letter = add_submitted(session, campaign)
    queue.queue_letter(session, letter)
    session.rollback()
    assert reload(session, letter).state == LetterState.AWAITING_CONFIRMATION
    queue.queue_letter(session, letter)
    session.commit()
    saved = reload(session, letter)
    assert saved.state == LetterState.QUEUED
    assert saved.queued_at is not None
    assert saved.next_attempt_at is not None


def test_queue_letter_twice_raises(app: Flask, campaign: Campaign, session: Session) -> None:
    [letter] = add_queued(session, campaign)
    with pytest.raises(IllegalTransition):
        queue.queue_letter(session, letter)


def test_claim_leases_due_rows_once(app: Flask, campaign: Campaign, session: Session) -> None:
    letters = add_queued(session, campaign, 3)
    with db.transaction() as s:
        first = queue.claim(s, Letter, "worker-a", 2, POLICY)
    with db.transaction() as s:
        second = queue.claim(s, Letter, "worker-b", 5, POLICY)
    with db.transaction() as s:
        third = queue.claim(s, Letter, "worker-c", 5, POLICY)
    assert first == [letters[0].id, letters[1].id]
    assert second == [letters[2].id]
    assert third == []
    assert reload(session, letters[0]).lease_owner == "worker-a"
    assert reload(session, letters[0]).state == LetterState.QUEUED


def test_claim_skips_rows_not_yet_due(app: Flask, campaign: Campaign, session: Session) -> None:
    [letter] = add_queued(session, campaign)
    letter.next_attempt_at = utcnow() + timedelta(minutes=5)
    session.commit()
    with db.transaction() as s:
        assert queue.claim(s, Letter, "w", 5, POLICY) == []


def test_expired_lease_is_claimed_again(app: Flask, campaign: Campaign, session: Session) -> None:
    [letter] = add_queued(session, campaign)
    with db.transaction() as s:
        queue.claim(s, Letter, "dead-worker", 5, POLICY)
    later = utcnow() + timedelta(seconds=31)
    with db.transaction() as s:
        assert queue.claim(s, Letter, "w2", 5, POLICY, now=later) == [letter.id]
    # Never started, so it cannot have been sent: no duplicate flag.
    assert reload(session, letter).is_possible_duplicate is False


def test_start_requires_the_lease(app: Flask, campaign: Campaign, session: Session) -> None:
    [letter] = add_queued(session, campaign)
    with db.transaction() as s:
        queue.claim(s, Letter, "w1", 5, POLICY)
    assert db.engine is not None
    with db.engine.begin() as conn:
        assert queue.start(conn, Letter, letter.id, "w2", POLICY.lease) is False
        assert queue.start(conn, Letter, letter.id, "w1", POLICY.lease) is True
        assert queue.start(conn, Letter, letter.id, "w1", POLICY.lease) is False
    saved = reload(session, letter)
    assert saved.state == LetterState.SENDING
    assert saved.attempts == 1


def test_abandoned_request_is_requeued_and_flagged(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    [letter, other] = add_queued(session, campaign, 2)
    with db.transaction() as s:
        queue.claim(s, Letter, "w1", 5, POLICY)
    assert db.engine is not None
    with db.engine.begin() as conn:
        queue.start(conn, Letter, letter.id, "w1", POLICY.lease)
    later = utcnow() + timedelta(seconds=31)
    with db.transaction() as s:
        assert queue.recover_abandoned(s, Letter, later) == 1
    recovered, untouched = reload(session, letter), reload(session, other)
    assert recovered.state == LetterState.QUEUED
    assert recovered.is_possible_duplicate is True
    assert recovered.lease_owner is None
    assert untouched.is_possible_duplicate is False
    # The first worker's late answer cannot overwrite the recovery.
    with db.engine.begin() as conn:
        assert queue.mark_sent(conn, Letter, letter.id, "w1", "late-id") is False
    assert reload(session, letter).state == LetterState.QUEUED


def test_release_gives_back_unstarted_rows_only(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    [started, waiting] = add_queued(session, campaign, 2)
    with db.transaction() as s:
        queue.claim(s, Letter, "w1", 5, POLICY)
    assert db.engine is not None
    with db.engine.begin() as conn:
        queue.start(conn, Letter, started.id, "w1", POLICY.lease)
        assert queue.release(conn, "w1") == 1
    assert reload(session, waiting).lease_owner is None
    assert reload(session, started).lease_owner == "w1"


def test_sending_window_parses_and_wraps() -> None:
    window = queue.parse_sending_window("22:00-06:00 UTC")
    assert window is not None
    at = utcnow().replace(hour=23, minute=0)
    assert window.is_open(at)
    assert not window.is_open(at.replace(hour=12))
    assert window.next_open(at.replace(hour=12)).hour == 22
    assert queue.parse_sending_window("") is None
    with pytest.raises(Exception, match="SENDING_WINDOW"):
        queue.parse_sending_window("9 to 5")


def test_letter_abandoned_in_flight_twice_is_held_not_sent_a_third_time(
    app: Flask, campaign: Campaign, session: Session
) -> None:
    [letter] = add_queued(session, campaign)
    assert db.engine is not None
    now = utcnow()
    for round_ in range(2):
        with db.transaction() as s:
            assert queue.claim(s, Letter, f"w{round_}", 5, POLICY, now=now) == [letter.id]
        with db.engine.begin() as conn:
            assert queue.start(conn, Letter, letter.id, f"w{round_}", POLICY.lease)
        now = utcnow() + timedelta(seconds=31 * (round_ + 1))
        with db.transaction() as s:
            queue.recover_abandoned(s, Letter, now)
    held = reload(session, letter)
    assert held.state == LetterState.HELD
    assert held.is_possible_duplicate is True
    assert "two requests" in (held.failure_reason or "")
    with db.transaction() as s:
        assert queue.claim(s, Letter, "w3", 5, POLICY, now=now) == []
