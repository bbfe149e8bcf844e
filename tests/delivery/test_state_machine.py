"""The letter and notification state machines: every legal move stamps, every other raises."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from advocacy.models import (
    LETTER_TRANSITIONS,
    IllegalTransition,
    Letter,
    LetterState,
    Notification,
    NotificationState,
)
from advocacy.models.letter import NOTIFICATION_TRANSITIONS, STATE_TIMESTAMP

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)

LETTER_MOVES = [(a, b) for a in LetterState for b in LetterState]
NOTIFICATION_MOVES = [(a, b) for a in NotificationState for b in NotificationState]


def test_letter_transitions_cover_every_state() -> None:
    assert set(LETTER_TRANSITIONS) == set(LetterState)
    assert set(NOTIFICATION_TRANSITIONS) == set(NotificationState)


@pytest.mark.parametrize(("current", "target"), LETTER_MOVES, ids=lambda s: str(s))
def test_letter_transition_is_legal_or_raises(current: LetterState, target: LetterState) -> None:
    letter = Letter(state=current)
    if target in LETTER_TRANSITIONS[current]:
        letter.transition(target, at=AT, reason="why")
        assert letter.state == target
        assert letter.state_changed_at == AT
        assert getattr(letter, STATE_TIMESTAMP[target]) == AT
        assert letter.failure_reason == "why"
    else:
        with pytest.raises(IllegalTransition):
            letter.transition(target, at=AT)
        assert letter.state == current
        with pytest.raises(IllegalTransition):
            Letter.transition_values(current, target, AT)


@pytest.mark.parametrize(("current", "target"), NOTIFICATION_MOVES, ids=lambda s: str(s))
def test_notification_transition_is_legal_or_raises(
    current: NotificationState, target: NotificationState
) -> None:
    notification = Notification(state=current)
    if target in NOTIFICATION_TRANSITIONS[current]:
        notification.transition(target, at=AT, reason="why")
        assert notification.state == target
        assert notification.state_changed_at == AT
        assert notification.sent_at == (AT if target == NotificationState.SENT else None)
        assert notification.failed_at == (AT if target == NotificationState.FAILED else None)
        assert notification.failure_reason == "why"
    else:
        with pytest.raises(IllegalTransition):
            notification.transition(target, at=AT)
        assert notification.state == current
        with pytest.raises(IllegalTransition):
            Notification.transition_values(current, target, AT)


def test_letter_final_states_have_no_way_out() -> None:
    for state in (LetterState.BOUNCED, LetterState.DROPPED, LetterState.EXPIRED):
        assert LETTER_TRANSITIONS[state] == frozenset()


def test_new_letter_has_identity_and_state_before_it_is_saved() -> None:
    letter = Letter()
    assert letter.state == LetterState.AWAITING_CONFIRMATION
    assert len(letter.idempotency_key) == 32
    assert len(letter.public_id) == 32
    assert letter.idempotency_key != Letter().idempotency_key
    assert letter.awaiting_confirmation_at is not None
    assert letter.is_possible_duplicate is False


def test_letter_life_stamps_each_state() -> None:
    letter = Letter()
    for state in (
        LetterState.QUEUED,
        LetterState.SENDING,
        LetterState.SENT,
        LetterState.DEFERRED,
        LetterState.DELIVERED,
    ):
        letter.transition(state, at=AT)
    assert letter.queued_at == letter.sending_at == letter.sent_at == AT
    assert letter.deferred_at == letter.delivered_at == AT
