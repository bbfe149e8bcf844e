"""The MP directory and the postcode-to-constituency cache."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class MemberOfParliament(Base):
    """The current MP of one Westminster constituency; member fields are empty when vacant."""

    __tablename__ = "members_of_parliament"

    constituency_code: Mapped[str] = mapped_column(String(9), primary_key=True)
    constituency_name: Mapped[str] = mapped_column(String(200))
    member_id: Mapped[int | None] = mapped_column(default=None, index=True)
    name_display: Mapped[str | None] = mapped_column(String(200), default=None)
    name_full_title: Mapped[str | None] = mapped_column(String(250), default=None)
    party: Mapped[str | None] = mapped_column(String(120), default=None)
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    postal_address: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[str] = mapped_column(String(20), default="snapshot")
    confirmed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def is_vacant(self) -> bool:
        """True when the seat has no current MP."""
        return self.member_id is None


class PostcodeCacheEntry(Base):
    """A postcode's constituency as postcodes.io last gave it."""

    __tablename__ = "postcode_cache"

    postcode: Mapped[str] = mapped_column(String(8), primary_key=True)
    constituency_code: Mapped[str] = mapped_column(String(9))
    country: Mapped[str | None] = mapped_column(String(40), default=None)
    looked_up_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SyncCheckpoint(Base):
    """Progress of a long-running sync so an interrupted run can resume."""

    __tablename__ = "sync_checkpoints"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
