"""`advocacy letters`: reviewing held letters from the command line."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.models import Campaign, Letter, LetterState
from tests.delivery.helpers import add_queued


def _state(session: Session, public_id: str) -> Letter:
    session.expire_all()
    return session.scalars(select(Letter).where(Letter.public_id == public_id)).one()


def _held(session: Session, campaign: Campaign) -> str:
    letter = add_queued(session, campaign)[0]
    letter.transition(LetterState.HELD, reason="held for review: test")
    letter.is_possible_duplicate = True
    session.commit()
    return letter.public_id


def test_letters_list_shows_held_letters_without_personal_data(
    runner: FlaskCliRunner, session: Session, campaign: Campaign
) -> None:
    public_id = _held(session, campaign)
    result = runner.invoke(args=["letters", "list"])
    assert result.exit_code == 0, result.output
    assert public_id in result.output
    assert "possible-duplicate" in result.output
    assert "held for review: test" in result.output
    assert "1 letter(s) held." in result.output
    for personal in ("Ayesha", "ayesha@example.org", "Acacia", "LS1 4AP"):
        assert personal not in result.output


def test_letters_requeue_queues_a_held_letter(
    runner: FlaskCliRunner, session: Session, campaign: Campaign
) -> None:
    public_id = _held(session, campaign)
    result = runner.invoke(args=["letters", "requeue", public_id])
    assert result.exit_code == 0, result.output
    assert _state(session, public_id).state == LetterState.QUEUED


def test_letters_fail_records_the_reason_and_refuses_illegal_moves(
    runner: FlaskCliRunner, session: Session, campaign: Campaign
) -> None:
    public_id = _held(session, campaign)
    result = runner.invoke(args=["letters", "fail", public_id, "--reason", "sent twice"])
    assert result.exit_code == 0, result.output
    letter = _state(session, public_id)
    assert letter.state == LetterState.FAILED
    assert letter.failure_reason == "by review: sent twice"
    again = runner.invoke(args=["letters", "fail", public_id, "--reason", "again"])
    assert again.exit_code != 0
    assert "is failed" in again.output
    missing = runner.invoke(args=["letters", "requeue", "nope"])
    assert missing.exit_code != 0
    assert "No letter nope" in missing.output
