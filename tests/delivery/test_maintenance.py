"""Reminders, expiry and purging of personal data."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.queue import queue_letter
from advocacy.delivery.worker import run_maintenance
from advocacy.models import (
    Campaign,
    Letter,
    LetterState,
    Notification,
    NotificationKind,
    NotificationState,
    Signature,
    utcnow,
)
from tests.conftest import make_settings
from tests.delivery.helpers import add_queued, add_submitted, make_worker, reload
from tests.fakes.sendgrid import FakeSendGrid


def _age(session: Session, letter: Letter, days: float) -> None:
    letter.awaiting_confirmation_at = utcnow() - timedelta(days=days)
    session.commit()


def test_reminder_after_a_day_once(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    fresh = add_submitted(session, campaign)
    waiting = add_submitted(session, campaign, email_digest="1" * 64)
    _age(session, waiting, 1.5)
    assert run_maintenance(settings).reminded == 1
    assert run_maintenance(settings).reminded == 0
    reminders = session.scalars(
        select(Notification).where(Notification.kind == NotificationKind.REMINDER)
    ).all()
    assert [r.letter_id for r in reminders] == [waiting.id]
    assert reload(session, waiting).reminded_at is not None
    assert reload(session, fresh).reminded_at is None
    make_worker(settings, fake_sendgrid).run(once=True)
    kinds = sorted(m.custom_args()["kind"] for m in fake_sendgrid.accepted)
    assert kinds == ["confirmation", "confirmation", "reminder"]


def test_no_reminder_for_a_confirmed_letter(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    letter = add_submitted(session, campaign)
    queue_letter(session, letter)
    session.commit()
    _age(session, letter, 2)
    assert run_maintenance(settings).reminded == 0


def test_unconfirmed_letter_expires_after_seven_days(
    app: Flask,
    campaign: Campaign,
    session: Session,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
) -> None:
    old = add_submitted(session, campaign)
    nearly = add_submitted(session, campaign, email_digest="2" * 64)
    _age(session, old, 7.01)
    _age(session, nearly, 6.9)
    report = run_maintenance(settings)
    assert report.expired == 1
    expired = reload(session, old)
    assert expired.state == LetterState.EXPIRED
    assert expired.expired_at is not None
    assert reload(session, nearly).state == LetterState.AWAITING_CONFIRMATION
    # The expired letter's unsent confirmation goes with it; the other's is sent.
    make_worker(settings, fake_sendgrid).run(once=True)
    states = {n.letter_id: n.state for n in session.scalars(select(Notification))}
    assert states == {nearly.id: NotificationState.SENT}


def test_retention_erases_the_words_first_then_the_sender(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    [old, older, recent] = add_queued(session, campaign, 3)
    signature = Signature(campaign_id=campaign.id, email_digest="9" * 64)
    session.add(signature)
    for letter in (old, older, recent):
        letter.transition(LetterState.SENDING)
        letter.transition(LetterState.SENT)
    old.state_changed_at = utcnow() - timedelta(days=settings.letter_body_retention_days + 1)
    older.state_changed_at = utcnow() - timedelta(days=settings.personal_data_retention_days + 1)
    session.commit()
    assert run_maintenance(settings).purged == 2
    words_gone = reload(session, old)
    for field in ("personal_text", "subject", "body_text"):
        assert getattr(words_gone, field) == ""
    # The sender stays until the longer limit, for replies and follow-up questions.
    assert words_gone.sender_name == "Ayesha Khan"
    assert words_gone.purged_at is None
    gone = reload(session, older)
    assert gone.purged_at is not None
    for field in (
        "sender_name",
        "sender_email",
        "sender_address",
        "sender_postcode",
        "personal_text",
        "subject",
        "body_text",
        "email_digest",
    ):
        assert getattr(gone, field) == ""
    assert gone.state == LetterState.SENT
    assert gone.recipient_name == "Jo Bloggs MP"
    assert reload(session, recent).body_text != ""
    assert session.scalars(select(Signature)).all() == [signature]
    assert run_maintenance(settings).purged == 0


def test_an_expired_letter_is_erased_when_its_link_expires(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    letter = add_submitted(session, campaign)
    _age(session, letter, 7.01)
    report = run_maintenance(settings)
    assert report.expired == 1
    erased = reload(session, letter)
    assert erased.state == LetterState.EXPIRED
    assert erased.purged_at is not None
    assert (erased.sender_email, erased.body_text) == ("", "")
    assert session.scalars(select(Notification)).all() == []


def test_a_grace_period_keeps_an_expired_letter_a_little_longer(
    app: Flask, campaign: Campaign, session: Session, database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path / "grace", env={"UNCONFIRMED_RETENTION_HOURS": "48"}
    )
    letter = add_submitted(session, campaign)
    _age(session, letter, 7.01)
    run_maintenance(settings)
    assert reload(session, letter).purged_at is None
    erased = reload(session, letter)
    erased.expired_at = utcnow() - timedelta(hours=49)
    session.commit()
    run_maintenance(settings)
    assert reload(session, letter).purged_at is not None


def test_letters_still_in_progress_are_never_purged(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    [queued] = add_queued(session, campaign)
    waiting = add_submitted(session, campaign, email_digest="3" * 64)
    long_ago = utcnow() - timedelta(days=settings.personal_data_retention_days - 1)
    queued.state_changed_at = long_ago
    waiting.state_changed_at = long_ago
    session.commit()
    assert run_maintenance(settings).purged == 0


def test_nothing_outlives_the_longest_limit_whatever_its_state(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    [queued] = add_queued(session, campaign)
    queued.created_at = utcnow() - timedelta(days=settings.personal_data_retention_days + 1)
    session.commit()
    assert run_maintenance(settings).purged == 1
    stopped = reload(session, queued)
    assert stopped.state == LetterState.FAILED
    assert stopped.purged_at is not None
    assert stopped.sender_name == ""
