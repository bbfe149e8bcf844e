"""Fingerprints of letters' own words: keyed hashes only, never any words."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base


class LetterFingerprint(Base):
    """One kept hash of one letter's own words: a posting of the near-copy index.

    A check looks up the new letter's hashes by (campaign_id, hash) and counts, per earlier
    letter, how many it shares; `letter_size` (the number of hashes that letter has) rides
    along so the Dice score needs no second query. Rows are personal data in the sense
    that they belong to a letter, and are deleted when the letter's personal data is.
    """

    __tablename__ = "letter_fingerprints"
    __table_args__ = (
        Index("ix_letter_fingerprints_campaign_id_hash", "campaign_id", "hash", "letter_id"),
    )

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    letter_size: Mapped[int]
