"""Campaigns, their letter templates, fixed targets and signatures."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.models.base import Base, utcnow


class CampaignKind(StrEnum):
    """Who a campaign's letters go to and how."""

    MP_LETTER = "mp_letter"  # one letter per person to their own MP, by email
    PETITION = "petition"  # every signature delivered to fixed officials
    PLEDGE = "pledge"  # people commit to numbered demands
    POSTAL = "postal"  # printable letters to postal targets (prisoners, foreign officials)


class CampaignStatus(StrEnum):
    """Whether a campaign accepts new letters."""

    DRAFT = "draft"
    LIVE = "live"
    CLOSED = "closed"


class Campaign(Base):
    """A cause people write about, with one or more letter templates."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    why_it_matters: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[CampaignKind] = mapped_column(String(20), default=CampaignKind.MP_LETTER)
    status: Mapped[CampaignStatus] = mapped_column(String(20), default=CampaignStatus.LIVE)
    # The name shown after "via" in the From line: "Ayesha Khan via <sender_name>".
    sender_name: Mapped[str] = mapped_column(String(120))
    goal: Mapped[int | None] = mapped_column(default=None)
    # When letters may be written; None leaves that side open. Shown to staff, and a
    # campaign outside its dates is treated as closed by the journey.
    opens_at: Mapped[datetime | None] = mapped_column(default=None)
    closes_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    # Removed templates stay in the database (letters and history refer to them) but are
    # no longer offered.
    templates: Mapped[list[LetterTemplate]] = relationship(
        order_by="LetterTemplate.position",
        lazy="selectin",
        primaryjoin="and_(Campaign.id == LetterTemplate.campaign_id, "
        "LetterTemplate.removed_at.is_(None))",
        viewonly=True,
    )
    targets: Mapped[list[Target]] = relationship(secondary="campaign_targets")

    @property
    def is_live(self) -> bool:
        """True while the campaign accepts letters."""
        return self.status == CampaignStatus.LIVE

    def template(self, slug: str) -> LetterTemplate | None:
        """The campaign's letter template with this slug, if any."""
        return next((t for t in self.templates if t.slug == slug), None)


class LetterTemplate(Base):
    """One letter a campaign offers; rendered in a sandboxed Jinja environment."""

    __tablename__ = "letter_templates"
    __table_args__ = (UniqueConstraint("campaign_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    subject_template: Mapped[str] = mapped_column(String(300))
    body_template: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    # The number of the version the subject and body above are; every saved change adds one.
    version: Mapped[int] = mapped_column(default=1)
    removed_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship()
    versions: Mapped[list[LetterTemplateVersion]] = relationship(
        back_populates="template",
        order_by="LetterTemplateVersion.number.desc()",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class LetterTemplateVersion(Base):
    """One saved state of a letter template; never changed once written."""

    __tablename__ = "letter_template_versions"
    __table_args__ = (UniqueConstraint("template_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("letter_templates.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(200))
    subject_template: Mapped[str] = mapped_column(String(300))
    body_template: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None
    )

    template: Mapped[LetterTemplate] = relationship(back_populates="versions")


class TargetKind(StrEnum):
    """How a fixed target receives letters."""

    EMAIL = "email"
    POSTAL = "postal"


class Target(Base):
    """A fixed recipient (an official, a minister, a prisoner) outside the MP directory."""

    __tablename__ = "targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[TargetKind] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(320), default=None)
    postal_address: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CampaignTarget(Base):
    """Links a campaign to the fixed targets its letters go to."""

    __tablename__ = "campaign_targets"

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    target_id: Mapped[int] = mapped_column(
        ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True
    )


class Signature(Base):
    """One confirmed person on one campaign; outlives the letter's personal data."""

    __tablename__ = "signatures"
    __table_args__ = (UniqueConstraint("campaign_id", "email_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    # A keyed hash of the normalised email: it enforces one signature per person and
    # campaign without keeping the address once the letter's personal data is purged.
    email_digest: Mapped[str] = mapped_column(String(64))
    constituency_code: Mapped[str | None] = mapped_column(String(9), default=None, index=True)
    member_id: Mapped[int | None] = mapped_column(default=None)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), default=None
    )
    source: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Counted by "send it from my own email": no letter here, and no address behind the
    # digest column (it holds a random marker).
    is_self_sent: Mapped[bool] = mapped_column(default=False, server_default=false())
