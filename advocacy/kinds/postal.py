"""Letters to people who cannot be emailed (prisoners, officials), printed, signed and posted."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.campaigns import services as journey
from advocacy.extensions import db
from advocacy.kinds import countries
from advocacy.kinds.base import Delivery, Recipient, SignerField
from advocacy.kinds.petition import fixed_targets
from advocacy.kinds.printed import PrintedLetter, paper_for
from advocacy.models import Campaign, CampaignKind, Letter, Signature, Target

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend, OutgoingEmail


class Postal:
    """The writer downloads a print-ready PDF; we keep only a count per recipient and country."""

    kind = CampaignKind.POSTAL
    label = "Printed letter for the post"
    delivery = Delivery.PRINT
    signer_fields = frozenset(
        {
            SignerField.NAME,
            SignerField.COUNTRY,
            SignerField.OWN_WORDS,
            SignerField.OPTIONAL_RETURN_ADDRESS,
        }
    )
    journey_endpoint = "signing.write_letter"
    # Nobody is emailed: the letter leaves as paper, so there is nothing to confirm.
    confirm_path = ""
    email_templates = ""
    after_signing = "Print your letter, sign it, and post it as the instructions page says."

    def recipients(
        self, session: Session, campaign: Campaign, *, constituency_code: str | None = None
    ) -> list[Recipient]:
        """The campaign's postal targets."""
        shown = {t.id for t in public_targets(session, campaign)}
        return [r for r in fixed_targets(session, campaign) if r.target_id in shown]

    def page_context(self, session: Session, campaign: Campaign) -> dict[str, Any]:
        """The writing page shows the recipients, with their letters so far."""
        return {"letters": letters_per_target(session, campaign)}

    def after_confirm(self, session: Session, letter: Letter, settings: Settings) -> None:
        """Printed letters are never confirmed by email."""
        raise ValueError("printed letters are not confirmed by email")

    def compose(self, letter: Letter, settings: Settings) -> OutgoingEmail:
        """Printed letters are never emailed."""
        raise ValueError("printed letters go by post")

    def deliver_due(self, settings: Settings, backend: MailBackend, now: datetime) -> int:
        """Writers post their letters themselves; printed event letters are deleted after
        the retention period."""
        from advocacy.kinds.events import purge_printed

        with db.transaction() as session:
            purge_printed(session, settings.letter_body_retention_days, now)
        return 0


def public_targets(session: Session, campaign: Campaign) -> list[Target]:
    """The campaign's postal targets that staff have marked as shown to the public."""
    return [
        t for t in journey.campaign_targets(session, campaign) if t.postal_address and t.is_public
    ]


def letters_per_target(session: Session, campaign: Campaign) -> dict[int, int]:
    """How many letters each target has had written to it."""
    rows = session.execute(
        select(Signature.target_id, func.count(Signature.id))
        .where(Signature.campaign_id == campaign.id, Signature.target_id.is_not(None))
        .group_by(Signature.target_id)
    ).all()
    return {int(target_id or 0): int(count) for target_id, count in rows}


def next_recipient(session: Session, campaign: Campaign) -> Target | None:
    """The postal target with the fewest letters so far, so that every one gets letters."""
    counts = letters_per_target(session, campaign)
    postal = public_targets(session, campaign)
    return min(postal, key=lambda t: (counts.get(t.id, 0), t.id), default=None)


def build_letter(
    campaign: Campaign,
    target: Target,
    *,
    sender_name: str,
    country_code: str,
    personal_words: str,
    return_address: str,
    today: date | None = None,
) -> PrintedLetter:
    """The letter as it will be printed: the campaign's template with the writer's words."""
    body = personal_words.strip()
    if campaign.templates:
        body = journey.render_letter_text(
            campaign.templates[0].body_template,
            recipient_name=target.name,
            sender_name=sender_name,
            personal_words=personal_words.strip(),
        ).strip()
    return PrintedLetter(
        recipient_name=target.name,
        recipient_address=target.postal_address or "",
        sender_name=sender_name,
        sender_country=countries.name(country_code),
        return_address=return_address,
        body=body,
        written_on=today or date.today(),
        paper=paper_for(country_code),
        posting_instructions=campaign.posting_instructions,
        campaign_title=campaign.title,
    )


def record_letter(session: Session, campaign: Campaign, target: Target, country_code: str) -> None:
    """Count one letter to this target from this country; nothing about the writer is kept."""
    session.add(
        Signature(
            campaign_id=campaign.id,
            # No email is asked for, so nothing identifies the writer: a random digest.
            email_digest=f"printed-{uuid.uuid4().hex}",
            country_code=country_code,
            target_id=target.id,
        )
    )
    session.commit()
    journey.forget_count(campaign.id)
