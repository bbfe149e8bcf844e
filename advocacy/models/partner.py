"""Partner organisations, the wording of their consent boxes and the consents people gave."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.models.base import Base, utcnow


class Partner(Base):
    """An organisation that embeds the letter form on its own site."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The code in embed URLs and snippets (`?partner=<slug>`).
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(300), default="")
    # The sites that may frame the form, one origin per line ("https://www.example.org").
    allowed_origins: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    accent_colour: Mapped[str] = mapped_column(String(7), default="")
    # Whether count.json shows this partner's total to the public.
    is_figures_public: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    wordings: Mapped[list[ConsentWording]] = relationship(
        back_populates="partner", order_by="ConsentWording.version", lazy="selectin"
    )

    @property
    def origins(self) -> tuple[str, ...]:
        """The allowed origins as a tuple, normalised to scheme://host[:port]."""
        return tuple(
            line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()
        )

    @property
    def current_wording(self) -> ConsentWording | None:
        """The consent wording people are shown now, or None when the partner asks none."""
        current = self.wordings[-1] if self.wordings else None
        return current if current is not None and current.text else None


class ConsentWording(Base):
    """One version of a partner's "keep me informed" wording; versions are never edited."""

    __tablename__ = "partner_consent_wordings"
    __table_args__ = (UniqueConstraint("partner_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id", ondelete="CASCADE"))
    version: Mapped[int]
    # Empty text means the partner stopped asking from this version on.
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    partner: Mapped[Partner] = relationship(back_populates="wordings")


class PartnerConsent(Base):
    """A person who ticked a partner's box: who, the exact wording they saw, and when.

    It counts only once the letter it came with is confirmed from the person's own inbox, so
    nobody can sign somebody else up to a partner's list.
    """

    __tablename__ = "partner_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    partner_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    wording_id: Mapped[int] = mapped_column(ForeignKey("partner_consent_wordings.id"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), default=None, index=True
    )
    email_digest: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(default=None)

    wording: Mapped[ConsentWording] = relationship(lazy="joined")
