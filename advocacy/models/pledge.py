"""The numbered demands of a pledge, kept as versions so every signature says what it signed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class PledgeVersion(Base):
    """One version of a pledge's demands, in order; a new one is saved on every edit."""

    __tablename__ = "pledge_versions"
    __table_args__ = (UniqueConstraint("campaign_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    version: Mapped[int]
    # The demands' texts in their order; earlier versions are never changed.
    demands: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
