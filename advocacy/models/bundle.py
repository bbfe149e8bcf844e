"""Delivery bundles: a petition's new signatures, delivered together to one target."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class BundleState(StrEnum):
    """Where a bundle is in its life; email states follow SendGrid's webhook."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    DROPPED = "dropped"
    FAILED = "failed"
    TO_PRINT = "to_print"  # a postal target: staff print the PDF and post it


B = BundleState
BUNDLE_TRANSITIONS: dict[BundleState, frozenset[BundleState]] = {
    B.QUEUED: frozenset({B.SENDING, B.FAILED}),
    B.SENDING: frozenset({B.QUEUED, B.SENT, B.FAILED}),
    B.SENT: frozenset({B.DELIVERED, B.DEFERRED, B.BOUNCED, B.DROPPED}),
    B.DEFERRED: frozenset({B.DEFERRED, B.DELIVERED, B.BOUNCED, B.DROPPED}),
    B.DELIVERED: frozenset({B.BOUNCED}),
    B.FAILED: frozenset({B.QUEUED}),
    B.BOUNCED: frozenset(),
    B.DROPPED: frozenset(),
    B.TO_PRINT: frozenset(),
}
del B


def _key() -> str:
    return uuid.uuid4().hex


class DeliveryBundle(Base):
    """One delivery to one target: the signatures with ids in (after, through].

    Signature ids are given at confirmation, so each bundle carries exactly the signatures
    confirmed since the previous bundle to the same target; `previous_count` says how many
    that target had already received.
    """

    __tablename__ = "delivery_bundles"
    __table_args__ = (
        Index("ix_delivery_bundles_campaign_id_target_id", "campaign_id", "target_id"),
        Index("ix_delivery_bundles_state_next_attempt_at", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("targets.id", ondelete="SET NULL"), default=None
    )
    # Copied when the bundle is made, so the record says to whom it went.
    # "target": a fixed target's bundle; "mp_digest": an MP's digest of their constituents.
    kind: Mapped[str] = mapped_column(String(20), default="target")
    constituency_code: Mapped[str | None] = mapped_column(String(9), default=None)
    target_name: Mapped[str] = mapped_column(String(200))
    target_email: Mapped[str | None] = mapped_column(String(320), default=None)
    after_signature_id: Mapped[int] = mapped_column(default=0)
    through_signature_id: Mapped[int]
    signature_count: Mapped[int]
    previous_count: Mapped[int] = mapped_column(default=0)
    state: Mapped[BundleState] = mapped_column(String(20))
    idempotency_key: Mapped[str] = mapped_column(String(32), unique=True, default=_key)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    message_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    failure_reason: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    state_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sending_at: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_event_at: Mapped[datetime | None] = mapped_column(default=None)

    def transition(
        self, target: BundleState, *, at: datetime | None = None, reason: str | None = None
    ) -> None:
        """Move to another state; raise ValueError if the state machine does not allow it."""
        if target not in BUNDLE_TRANSITIONS[BundleState(self.state)]:
            raise ValueError(f"a bundle cannot move from {self.state} to {target}")
        at = at or utcnow()
        self.state = target
        self.state_changed_at = at
        if target == BundleState.SENDING:
            self.sending_at = at
        elif target == BundleState.SENT:
            self.sent_at = at
        elif target == BundleState.DELIVERED:
            self.delivered_at = at
        if reason is not None:
            self.failure_reason = reason
