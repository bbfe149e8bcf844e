"""Nominations: relatives put forward a detained person to receive letters."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class NominationState(StrEnum):
    """Where a nomination is in staff review."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"


class Nomination(Base):
    """A detained person put forward as a recipient; the nominator's details go on decision."""

    __tablename__ = "nominations"
    __table_args__ = (Index("ix_nominations_campaign_id_state", "campaign_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    detainee_name: Mapped[str] = mapped_column(String(200))
    prison_address: Mapped[str] = mapped_column(Text)
    story: Mapped[str] = mapped_column(Text, default="")
    # The nominator, so staff can ask questions; erased as soon as the nomination is decided.
    nominator_name: Mapped[str] = mapped_column(String(200), default="")
    nominator_email: Mapped[str] = mapped_column(String(320), default="")
    # The keyed hash of that email, by which a privacy request finds the nomination.
    nominator_digest: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[NominationState] = mapped_column(String(20), default=NominationState.PENDING)
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("targets.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
