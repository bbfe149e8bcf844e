"""A pledge: people anywhere commit to numbered demands; the signatures are counted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from advocacy.delivery.queue import ERASED
from advocacy.extensions import db
from advocacy.kinds import bundles
from advocacy.kinds.base import Delivery, Recipient
from advocacy.kinds.petition import SIGNER_FIELDS, record
from advocacy.models import (
    Campaign,
    CampaignKind,
    Letter,
    LetterState,
    PledgeVersion,
    Signature,
)

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend, OutgoingEmail

MAX_DEMANDS = 20
MAX_DEMAND_LENGTH = 500


class PledgeError(ValueError):
    """Demands that cannot be saved as given."""


def current(session: Session, campaign: Campaign) -> PledgeVersion | None:
    """The newest version of the campaign's demands."""
    return session.scalars(
        select(PledgeVersion)
        .where(PledgeVersion.campaign_id == campaign.id)
        .order_by(PledgeVersion.version.desc())
    ).first()


def set_demands(session: Session, campaign: Campaign, demands: list[str]) -> PledgeVersion:
    """Save the demands, in order, as a new version (unless they are unchanged)."""
    cleaned = [" ".join(d.split()) for d in demands]
    cleaned = [d for d in cleaned if d]
    if not cleaned:
        raise PledgeError("A pledge needs at least one demand.")
    if len(cleaned) > MAX_DEMANDS:
        raise PledgeError(f"A pledge may have at most {MAX_DEMANDS} demands.")
    if any(len(d) > MAX_DEMAND_LENGTH for d in cleaned):
        raise PledgeError(f"Please keep each demand to {MAX_DEMAND_LENGTH} characters.")
    latest = current(session, campaign)
    if latest is not None and list(latest.demands) == cleaned:
        return latest
    version = PledgeVersion(
        campaign_id=campaign.id,
        version=(latest.version + 1) if latest else 1,
        demands=cleaned,
    )
    session.add(version)
    session.flush()
    return version


def signatures_per_version(session: Session, campaign: Campaign) -> list[tuple[int, int]]:
    """(version, signatures) for every version of the demands, oldest first."""
    counted = dict(
        session.execute(
            select(Signature.pledge_version, func.count(Signature.id))
            .where(Signature.campaign_id == campaign.id)
            .group_by(Signature.pledge_version)
        ).all()
    )
    versions = session.scalars(
        select(PledgeVersion.version)
        .where(PledgeVersion.campaign_id == campaign.id)
        .order_by(PledgeVersion.version)
    ).all()
    return [(v, int(counted.get(v, 0))) for v in versions]


class Pledge:
    """Signers from anywhere commit to the campaign's numbered demands; nothing is sent."""

    kind = CampaignKind.PLEDGE
    label = "Pledge"
    delivery = Delivery.COUNT
    signer_fields = SIGNER_FIELDS
    journey_endpoint = "signing.sign"
    confirm_path = "/signatures/confirm/"
    email_templates = "signature/"
    after_signing = (
        "Your pledge is counted with everyone else's. We keep your name and email address "
        "only for a short while, then only the count."
    )

    def recipients(
        self, session: Session, campaign: Campaign, *, constituency_code: str | None = None
    ) -> list[Recipient]:
        """A pledge is made, not sent: nobody receives it."""
        return []

    def page_context(self, session: Session, campaign: Campaign) -> dict[str, Any]:
        """The numbered demands the signer commits to."""
        version = current(session, campaign)
        intro = campaign.templates[0].body_template.strip() if campaign.templates else ""
        return {
            "subject": campaign.title,
            "intro": intro or "I pledge to:",
            "demands": list(version.demands) if version else [],
            "demands_version": version.version if version else None,
        }

    def after_confirm(self, session: Session, letter: Letter, settings: Settings) -> None:
        """Record the signature against the version of the demands now shown."""
        record(letter)
        version = current(session, letter.campaign)
        signature = session.get(Signature, letter.signature_id) if letter.signature_id else None
        if signature is not None and version is not None:
            signature.pledge_version = version.version

    def compose(self, letter: Letter, settings: Settings) -> OutgoingEmail:
        """Pledges are never sent."""
        raise ValueError("pledges are counted, not sent")

    def deliver_due(self, settings: Settings, backend: MailBackend, now: datetime) -> int:
        """MP digests when due; signers' details are erased after the retention period."""
        bundles.digests_due(self.kind, now)
        sent = bundles.send_due(settings, backend, now)
        with db.transaction() as session:
            session.execute(
                update(Letter)
                .where(
                    Letter.state == LetterState.RECORDED,
                    Letter.purged_at.is_(None),
                    Letter.recorded_at
                    <= now - timedelta(days=settings.personal_data_retention_days),
                    Letter.campaign_id.in_(
                        select(Campaign.id).where(Campaign.kind == CampaignKind.PLEDGE)
                    ),
                )
                .values(**ERASED, purged_at=now)
                .execution_options(synchronize_session=False)
            )
        return sent
