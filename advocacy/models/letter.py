"""Letters, the system emails about them, and the delivery state machine."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from advocacy.models.base import Base, utcnow
from advocacy.models.campaign import Campaign, LetterTemplate
from advocacy.models.staff import StaffToken


class LetterState(StrEnum):
    """Where a letter is in its life."""

    AWAITING_CONFIRMATION = "awaiting_confirmation"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"  # SendGrid accepted it (202)
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    DROPPED = "dropped"
    FAILED = "failed"
    EXPIRED = "expired"  # never confirmed in time
    HELD = "held"  # held for a person to review


S = LetterState
LETTER_TRANSITIONS: dict[LetterState, frozenset[LetterState]] = {
    S.AWAITING_CONFIRMATION: frozenset({S.QUEUED, S.EXPIRED, S.HELD}),
    S.HELD: frozenset({S.QUEUED, S.FAILED}),
    S.QUEUED: frozenset({S.SENDING, S.HELD, S.FAILED}),
    # SENDING -> QUEUED: released on shutdown, or retried after a transient failure.
    # SENDING -> HELD: a second request that may have reached SendGrid unrecorded; held
    # so that a third copy is never sent.
    S.SENDING: frozenset({S.QUEUED, S.SENT, S.FAILED, S.HELD}),
    S.SENT: frozenset({S.DELIVERED, S.DEFERRED, S.BOUNCED, S.DROPPED}),
    S.DEFERRED: frozenset({S.DEFERRED, S.DELIVERED, S.BOUNCED, S.DROPPED}),
    # A receiving server can accept a message and bounce it later.
    S.DELIVERED: frozenset({S.BOUNCED}),
    # A person may ask for a failed letter to be tried again.
    S.FAILED: frozenset({S.QUEUED}),
    S.BOUNCED: frozenset(),
    S.DROPPED: frozenset(),
    S.EXPIRED: frozenset(),
}
del S

# The column that records when a letter entered each state.
STATE_TIMESTAMP = {state: f"{state.value}_at" for state in LetterState}


class IllegalTransition(RuntimeError):
    """Raised when a state change is not allowed by the state machine."""

    def __init__(self, current: StrEnum, target: StrEnum) -> None:
        super().__init__(f"cannot move from {current} to {target}")
        self.current = current
        self.target = target


def new_key() -> str:
    """A random idempotency key."""
    return uuid.uuid4().hex


StateT = TypeVar("StateT", bound=StrEnum)


class QueueMixin(Generic[StateT]):
    """Columns and the state change that make a row a unit of work for the delivery worker."""

    idempotency_key: Mapped[str] = mapped_column(String(32), unique=True, default=new_key)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_owner: Mapped[str | None] = mapped_column(String(64), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Set when a lease expired while a request was in flight: SendGrid may have the
    # message already, so a second copy is possible and is flagged for review.
    is_possible_duplicate: Mapped[bool] = mapped_column(default=False)

    # Each model maps its own state column and state machine; they are declared here only
    # for the type checker, so that `transition` below serves both.
    if TYPE_CHECKING:
        state: Mapped[StateT]

        @staticmethod
        def transition_values(current: StateT, target: StateT, at: datetime) -> dict[str, Any]:
            """Column values for a legal state change (each model has its own machine)."""

    def transition(
        self, target: StateT, *, at: datetime | None = None, reason: str | None = None
    ) -> None:
        """Move to another state, stamping its time; raise IllegalTransition if not allowed."""
        for column, value in self.transition_values(self.state, target, at or utcnow()).items():
            setattr(self, column, value)
        if reason is not None:
            self.failure_reason = reason


class Letter(QueueMixin[LetterState], Base):
    """One person's letter to one recipient; the row is also the delivery queue entry."""

    __tablename__ = "letters"
    __table_args__ = (
        Index("ix_letters_state_next_attempt_at", "state", "next_attempt_at"),
        # The per-MP hourly cap counts recent sends to one inbox.
        Index("ix_letters_recipient_email_sent_at", "recipient_email", "sent_at"),
        # A submission counts this person's letters awaiting confirmation on the campaign.
        # One composite index, so SQLite (which keeps no statistics here) cannot pick the
        # campaign index and scan every letter of the campaign instead.
        Index("ix_letters_email_digest_campaign_id", "email_digest", "campaign_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_key)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), index=True)
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("letter_templates.id", ondelete="SET NULL"), default=None
    )
    # The template version it was written from (letter_template_versions.number).
    template_version: Mapped[int | None] = mapped_column(default=None)
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="SET NULL"), default=None, index=True
    )
    # The partner page's own tag for where the person came from (?source=newsletter).
    source: Mapped[str] = mapped_column(String(100), default="")
    signature_id: Mapped[int | None] = mapped_column(
        ForeignKey("signatures.id", ondelete="SET NULL"), default=None
    )
    email_digest: Mapped[str] = mapped_column(String(64))

    # The sender. Personal data: purged after the retention period.
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_email: Mapped[str] = mapped_column(String(320))
    sender_address: Mapped[str] = mapped_column(Text)
    sender_postcode: Mapped[str] = mapped_column(String(10))
    personal_text: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)

    # The recipient, copied at writing time so a later change of MP cannot redirect it.
    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_email: Mapped[str | None] = mapped_column(String(320), default=None)
    recipient_member_id: Mapped[int | None] = mapped_column(default=None, index=True)
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("targets.id", ondelete="SET NULL"), default=None
    )
    constituency_code: Mapped[str | None] = mapped_column(String(9), default=None, index=True)
    constituency_name: Mapped[str | None] = mapped_column(String(200), default=None)

    state: Mapped[LetterState] = mapped_column(
        String(32), default=LetterState.AWAITING_CONFIRMATION
    )
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Time of the newest provider event applied, so an older event never wins.
    last_event_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    awaiting_confirmation_at: Mapped[datetime | None] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    queued_at: Mapped[datetime | None] = mapped_column(default=None)
    sending_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    deferred_at: Mapped[datetime | None] = mapped_column(default=None)
    bounced_at: Mapped[datetime | None] = mapped_column(default=None)
    dropped_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)
    expired_at: Mapped[datetime | None] = mapped_column(default=None)
    held_at: Mapped[datetime | None] = mapped_column(default=None)
    replied_at: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)

    campaign: Mapped[Campaign] = relationship(lazy="joined")
    template: Mapped[LetterTemplate | None] = relationship()

    def __init__(self, **kwargs: Any) -> None:
        """Fill identity and state at construction, so an unsaved letter can be previewed."""
        now = utcnow()
        kwargs.setdefault("public_id", new_key())
        kwargs.setdefault("idempotency_key", new_key())
        kwargs.setdefault("state", LetterState.AWAITING_CONFIRMATION)
        kwargs.setdefault("state_changed_at", now)
        kwargs.setdefault("created_at", now)
        kwargs.setdefault("awaiting_confirmation_at", now)
        kwargs.setdefault("attempts", 0)
        kwargs.setdefault("is_possible_duplicate", False)
        kwargs.setdefault("source", "")
        super().__init__(**kwargs)

    @staticmethod
    def transition_values(
        current: LetterState, target: LetterState, at: datetime
    ) -> dict[str, Any]:
        """Column values for a legal state change; raise IllegalTransition if not allowed.

        The worker moves rows with conditional UPDATE statements (so two workers can never
        both win a row); this keeps those statements on the same state machine.
        """
        if target not in LETTER_TRANSITIONS[current]:
            raise IllegalTransition(current, target)
        return {"state": target, "state_changed_at": at, STATE_TIMESTAMP[target]: at}


class NotificationKind(StrEnum):
    """System emails: to a letter's author, or to staff."""

    CONFIRMATION = "confirmation"
    REMINDER = "reminder"
    # A signed link to see and erase everything held about the address (sent to the
    # address of the person's latest letter, which is the one they asked about).
    PRIVACY_LINK = "privacy_link"
    # A reviewer edited a held letter: the writer may send it as edited from a link.
    REVIEW_REQUEST = "review_request"
    # System emails to staff, carrying a single-use link.
    STAFF_INVITE = "staff_invite"
    STAFF_PASSWORD_RESET = "staff_password_reset"  # noqa: S105 (a kind, not a secret)


class NotificationState(StrEnum):
    """Where a system email is in its life."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # no longer needed: the letter was confirmed or expired first


N = NotificationState
NOTIFICATION_TRANSITIONS: dict[NotificationState, frozenset[NotificationState]] = {
    N.QUEUED: frozenset({N.SENDING, N.FAILED, N.CANCELLED}),
    N.SENDING: frozenset({N.QUEUED, N.SENT, N.FAILED}),
    N.SENT: frozenset(),
    N.FAILED: frozenset({N.QUEUED}),
    N.CANCELLED: frozenset(),
}
del N


class Notification(QueueMixin[NotificationState], Base):
    """A system email (confirmation, reminder) queued with the letters, rendered at send time."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # A notification is about a letter (to its author) or a staff link (to a staff member).
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), default=None
    )
    staff_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_tokens.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[NotificationKind] = mapped_column(String(20))
    state: Mapped[NotificationState] = mapped_column(String(20), default=NotificationState.QUEUED)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    failed_at: Mapped[datetime | None] = mapped_column(default=None)

    letter: Mapped[Letter | None] = relationship(lazy="joined")
    staff_token: Mapped[StaffToken | None] = relationship(lazy="joined")

    def __init__(self, **kwargs: Any) -> None:
        """Fill the key and state at construction, before the row is flushed."""
        now = utcnow()
        kwargs.setdefault("idempotency_key", new_key())
        kwargs.setdefault("state", NotificationState.QUEUED)
        kwargs.setdefault("state_changed_at", now)
        kwargs.setdefault("created_at", now)
        kwargs.setdefault("attempts", 0)
        kwargs.setdefault("is_possible_duplicate", False)
        super().__init__(**kwargs)

    @staticmethod
    def transition_values(
        current: NotificationState, target: NotificationState, at: datetime
    ) -> dict[str, Any]:
        """Column values for a legal state change; raise IllegalTransition if not allowed."""
        if target not in NOTIFICATION_TRANSITIONS[current]:
            raise IllegalTransition(current, target)
        values: dict[str, Any] = {"state": target, "state_changed_at": at}
        if target == NotificationState.SENT:
            values["sent_at"] = at
        elif target == NotificationState.FAILED:
            values["failed_at"] = at
        return values


class ProcessedEvent(Base):
    """A provider webhook event already applied; makes event handling idempotent."""

    __tablename__ = "processed_events"

    event_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    letter_id: Mapped[int | None] = mapped_column(
        ForeignKey("letters.id", ondelete="SET NULL"), default=None
    )
    event_type: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
