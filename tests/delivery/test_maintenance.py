"""Reminders, expiry and purging of personal data."""

from __future__ import annotations

from datetime import timedelta

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
    # The expired letter's unsent confirmation is cancelled, not sent.
    make_worker(settings, fake_sendgrid).run(once=True)
    states = {n.letter_id: n.state for n in session.scalars(select(Notification))}
    assert states[old.id] == NotificationState.CANCELLED


def test_purge_blanks_personal_data_after_retention(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    [old, recent] = add_queued(session, campaign, 2)
    signature = Signature(campaign_id=campaign.id, email_digest="9" * 64)
    session.add(signature)
    for letter in (old, recent):
        letter.transition(LetterState.SENDING)
        letter.transition(LetterState.SENT)
    old.state_changed_at = utcnow() - timedelta(days=settings.letter_retention_days + 1)
    session.commit()
    assert run_maintenance(settings).purged == 1
    purged = reload(session, old)
    assert purged.purged_at is not None
    for field in (
        "sender_name",
        "sender_email",
        "sender_address",
        "sender_postcode",
        "personal_text",
        "subject",
        "body_text",
    ):
        assert getattr(purged, field) == ""
    assert purged.state == LetterState.SENT
    assert purged.recipient_name == "Jo Bloggs MP"
    assert reload(session, recent).sender_name == "Ayesha Khan"
    assert session.scalars(select(Signature)).all() == [signature]
    assert run_maintenance(settings).purged == 0


def test_letters_still_in_progress_are_never_purged(
    app: Flask, campaign: Campaign, session: Session, settings: Settings
) -> None:
    [queued] = add_queued(session, campaign)
    waiting = add_submitted(session, campaign, email_digest="3" * 64)
    long_ago = utcnow() - timedelta(days=365)
    queued.state_changed_at = long_ago
    waiting.state_changed_at = long_ago
    session.commit()
    assert run_maintenance(settings).purged == 0
