"""A fixed letter signed by people anywhere, delivered with every name to fixed officials."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.extensions import db
from advocacy.kinds import bundles
from advocacy.kinds.base import Delivery, Recipient, SignerField
from advocacy.models import Campaign, CampaignKind, CampaignStatus, Letter, LetterState

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend, OutgoingEmail

logger = logging.getLogger(__name__)

# The fields every signing kind asks for; a petition also takes a one-line comment.
SIGNER_FIELDS = frozenset(
    {SignerField.NAME, SignerField.EMAIL, SignerField.COUNTRY, SignerField.OPTIONAL_UK_POSTCODE}
)


def fixed_targets(session: Session, campaign: Campaign) -> list[Recipient]:
    """The campaign's targets, as staff entered them (queried: the campaign may be the
    journey's shared, detached copy)."""
    from advocacy.campaigns.services import campaign_targets

    return [
        Recipient(
            name=t.name,
            role=t.role,
            email=t.email,
            postal_address=t.postal_address,
            target_id=t.id,
        )
        for t in campaign_targets(session, campaign)
    ]


def record(letter: Letter) -> None:
    """A confirmed signature waits for its bundle (or is only counted); it is never sent alone."""
    letter.transition(LetterState.RECORDED)
    letter.next_attempt_at = None


class Petition:
    """Signers from anywhere; the worker delivers their names to each target in bundles."""

    kind = CampaignKind.PETITION
    label = "Petition to officials"
    delivery = Delivery.BUNDLE
    signer_fields = SIGNER_FIELDS | {SignerField.COMMENT}
    journey_endpoint = "signing.sign"
    confirm_path = "/signatures/confirm/"
    email_templates = "signature/"
    after_signing = (
        "Your name and country go to the officials with everyone else's in the campaign's "
        "next delivery. Your email address never does, and once they have been delivered we "
        "keep only the count."
    )

    def recipients(
        self, session: Session, campaign: Campaign, *, constituency_code: str | None = None
    ) -> list[Recipient]:
        """The officials (and embassies) staff made the campaign's targets."""
        return fixed_targets(session, campaign)

    def page_context(self, session: Session, campaign: Campaign) -> dict[str, Any]:
        """The fixed letter everyone signs."""
        from advocacy.kinds.services import fixed_letter

        subject, body = fixed_letter(campaign, self.recipients(session, campaign))
        return {"subject": subject, "body": body}

    def after_confirm(self, session: Session, letter: Letter, settings: Settings) -> None:
        """Record the signature for the next bundle."""
        record(letter)

    def compose(self, letter: Letter, settings: Settings) -> OutgoingEmail:
        """Signatures never go one by one."""
        raise ValueError("petition signatures are delivered in bundles, not one by one")

    def deliver_due(self, settings: Settings, backend: MailBackend, now: datetime) -> int:
        """Make the bundles each campaign's schedule says are due, send them, then purge."""
        with db.transaction() as session:
            due = session.scalars(
                select(Campaign).where(
                    Campaign.kind == CampaignKind.PETITION,
                    Campaign.status != CampaignStatus.DRAFT,
                    Campaign.bundle_every_days.is_not(None),
                )
            ).all()
            for campaign in due:
                every = timedelta(days=campaign.bundle_every_days or 0)
                if campaign.last_bundle_at is None or campaign.last_bundle_at <= now - every:
                    made = bundles.make_bundles(session, campaign, now)
                    if made:
                        logger.info("campaign %d: %d bundles made", campaign.id, len(made))
        bundles.digests_due(self.kind, now)
        sent = bundles.send_due(settings, backend, now)
        with db.transaction() as session:
            for campaign in session.scalars(
                select(Campaign).where(Campaign.kind == CampaignKind.PETITION)
            ):
                bundles.purge_delivered(
                    session, campaign, settings.personal_data_retention_days, now
                )
        return sent
