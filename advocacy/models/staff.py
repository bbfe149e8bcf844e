"""Campaign staff: accounts, their sessions, single-use links, settings and the audit log."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.models.base import Base, utcnow


class StaffUser(Base):
    """A person who runs campaigns in the workspace; never a member of the public."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so one person has one account whatever they type.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # A Role value (see advocacy.workspace.access); kept as text so a new role needs no migration.
    role: Mapped[str] = mapped_column(String(20))
    # None until the person follows their set-password link.
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Base32 TOTP secret; is_totp_enabled only once a code from it has been checked.
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    is_totp_enabled: Mapped[bool] = mapped_column(default=False)
    # The last accepted TOTP time step, so one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(default=None)
    # A partner's staff see only that partner's figures.
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(default=None)
    deactivated_at: Mapped[datetime | None] = mapped_column(default=None)

    @property
    def label(self) -> str:
        """How the workspace names this person."""
        return self.name or self.email


class StaffSession(Base):
    """A logged-in browser; the cookie holds a random token whose hash is the key here."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    # Bound to this session: every workspace form carries it.
    csrf_token: Mapped[str] = mapped_column(String(64))
    # Set while the password was right but the second factor is still to come.
    is_pending_totp: Mapped[bool] = mapped_column(default=False)
    # A one-line message for the next page ("Invitation sent"): Flask's own session is off.
    notice: Mapped[str | None] = mapped_column(String(500), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[StaffUser] = relationship(lazy="joined")


class StaffTokenPurpose(StrEnum):
    """What a single-use emailed or printed link lets its holder do."""

    SET_PASSWORD = "set_password"  # noqa: S105 (a new account, by CLI or invitation)
    RESET_PASSWORD = "reset_password"  # noqa: S105


class StaffToken(Base):
    """A single-use, expiring link for setting or resetting a password."""

    __tablename__ = "staff_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    purpose: Mapped[StaffTokenPurpose] = mapped_column(String(20))
    # The link is this nonce signed with SECRET_KEY; neither alone is enough.
    nonce: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[StaffUser] = relationship(lazy="joined")


class WorkspaceSetting(Base):
    """One installation-wide workspace setting (for example, two-factor required)."""

    __tablename__ = "workspace_settings"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEvent(Base):
    """Who did what, when: staff actions only, never letter contents or supporters' data."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Null for events with nobody logged in (a failed login, a command-line action).
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL"), default=None, index=True
    )
    # Kept beside the id so the log still reads after an account is gone.
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(80))
    target: Mapped[str | None] = mapped_column(String(200), default=None)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[StaffUser | None] = relationship()
