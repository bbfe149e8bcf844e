"""Helpers for the response tests: a letter sent through the fake SendGrid."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.models import Campaign, Letter, LetterReply
from tests.delivery.helpers import add_queued, make_worker
from tests.fakes.sendgrid import AcceptedMessage, FakeSendGrid


def send_letters(
    session: Session,
    settings: Settings,
    fake: FakeSendGrid,
    campaign: Campaign,
    count: int = 1,
    **overrides: Any,
) -> list[tuple[Letter, AcceptedMessage]]:
    """Queue letters, let the worker send them through the fake, return each with its email."""
    letters = add_queued(session, campaign, count, **overrides)
    make_worker(settings, fake).run(once=True)
    sent = []
    for letter in letters:
        session.refresh(letter)
        (message,) = fake.accepted_for("letter_key", letter.idempotency_key)
        sent.append((letter, message))
    return sent


def replies(session: Session, letter: Letter) -> list[LetterReply]:
    """The replies recorded for a letter."""
    session.expire_all()
    return list(
        session.scalars(
            select(LetterReply)
            .where(LetterReply.letter_id == letter.id)
            .order_by(LetterReply.received_at, LetterReply.message_digest)
        )
    )
