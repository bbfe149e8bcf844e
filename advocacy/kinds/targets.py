"""Fixed targets of a campaign (officials, embassies, prisoners): who its letters go to."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.kinds import countries
from advocacy.models import Campaign, CampaignTarget, Target, TargetKind


class TargetError(ValueError):
    """A target that cannot be saved as given; the message says why."""


def add_target(
    session: Session,
    campaign: Campaign,
    *,
    name: str,
    role: str = "",
    email: str | None = None,
    postal_address: str | None = None,
    country_code: str | None = None,
) -> Target:
    """A new target of the campaign: by email when it has an address, else by post."""
    name = " ".join(name.split())
    if not name:
        raise TargetError("A target needs a name.")
    email = (email or "").strip() or None
    postal_address = (postal_address or "").strip() or None
    if email is None and postal_address is None:
        raise TargetError("A target needs an email address, a postal address, or both.")
    if country_code and not countries.is_country(country_code):
        raise TargetError(f"{country_code!r} is not an ISO 3166 country code (e.g. CN, GB, US).")
    target = Target(
        kind=TargetKind.EMAIL if email else TargetKind.POSTAL,
        name=name,
        role=" ".join(role.split()),
        email=email,
        postal_address=postal_address,
        country_code=country_code.upper() if country_code else None,
    )
    session.add(target)
    session.flush()
    session.add(CampaignTarget(campaign_id=campaign.id, target_id=target.id))
    session.flush()
    session.expire(campaign, ["targets"])
    return target


def remove_target(session: Session, campaign: Campaign, target_id: int) -> bool:
    """Take a target off the campaign; its past bundles keep their record."""
    link = session.get(CampaignTarget, (campaign.id, target_id))
    if link is None:
        return False
    session.delete(link)
    session.flush()
    session.expire(campaign, ["targets"])
    return True


def campaign_by_slug(session: Session, slug: str) -> Campaign | None:
    """Any campaign, drafts included (for staff)."""
    return session.scalars(select(Campaign).where(Campaign.slug == slug)).first()
