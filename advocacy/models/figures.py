"""Campaign figures: counters the database keeps as letters change state."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base


class Dimension(StrEnum):
    """What a counter row breaks a campaign's figures down by; `item` names the value."""

    CAMPAIGN = "campaign"  # the whole campaign; item is ""
    CONSTITUENCY = "constituency"  # GSS code
    MEMBER = "member"  # Members API id of the recipient MP
    PARTNER = "partner"  # partner id, "" for none
    SOURCE = "source"  # the letter's source, "" for none
    DAY = "day"  # YYYY-MM-DD (UTC); signatures only


class CampaignCount(Base):
    """One counter row; triggers on letters and signatures keep it (see migration 0010).

    `written`, `confirmed`, `sent` and `signatures` only ever grow; the `state_*` columns
    count letters currently in a state, queued and sending together.
    """

    __tablename__ = "campaign_counts"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[Dimension] = mapped_column(String(20), primary_key=True)
    item: Mapped[str] = mapped_column(String(64), primary_key=True)
    written: Mapped[int] = mapped_column(default=0, server_default="0")
    confirmed: Mapped[int] = mapped_column(default=0, server_default="0")
    sent: Mapped[int] = mapped_column(default=0, server_default="0")
    signatures: Mapped[int] = mapped_column(default=0, server_default="0")
    state_awaiting: Mapped[int] = mapped_column(default=0, server_default="0")
    state_queued: Mapped[int] = mapped_column(default=0, server_default="0")
    state_held: Mapped[int] = mapped_column(default=0, server_default="0")
    state_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    state_deferred: Mapped[int] = mapped_column(default=0, server_default="0")
    state_delivered: Mapped[int] = mapped_column(default=0, server_default="0")
    state_bounced: Mapped[int] = mapped_column(default=0, server_default="0")
    state_dropped: Mapped[int] = mapped_column(default=0, server_default="0")
    state_failed: Mapped[int] = mapped_column(default=0, server_default="0")
    state_expired: Mapped[int] = mapped_column(default=0, server_default="0")
