"""Letter-writing events: letters written on the spot, printed together by the organisers."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


def _code() -> str:
    return secrets.token_urlsafe(12)


class LetterEvent(Base):
    """One event; its page is opened at the venue by the link's unguessable code."""

    __tablename__ = "letter_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(32), unique=True, default=_code)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventLetter(Base):
    """A letter written at an event, kept until printed and then for the retention period."""

    __tablename__ = "event_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(
        ForeignKey("letter_events.id", ondelete="CASCADE"), index=True
    )
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("targets.id", ondelete="SET NULL"), default=None
    )
    sender_name: Mapped[str] = mapped_column(String(200))
    country_code: Mapped[str] = mapped_column(String(2))
    personal_words: Mapped[str] = mapped_column(Text)
    use_return_address: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column(default=None)
