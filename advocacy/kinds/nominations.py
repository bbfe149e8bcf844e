"""Nominations of detained people as recipients of letters, and their review by staff."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.kinds import targets
from advocacy.models import Campaign, Nomination, NominationState, Target, utcnow
from advocacy.privacy.registry import DataSubject


class NominationError(ValueError):
    """A nomination that cannot be decided as asked."""


def submit(
    session: Session,
    campaign: Campaign,
    *,
    detainee_name: str,
    prison_address: str,
    story: str,
    nominator_name: str,
    nominator_email: str,
    secret_key: str,
) -> Nomination:
    """Save a nomination for staff review; nothing is shown publicly."""
    nomination = Nomination(
        campaign_id=campaign.id,
        detainee_name=" ".join(detainee_name.split()),
        prison_address=prison_address.strip(),
        story=story.strip(),
        nominator_name=nominator_name.strip(),
        nominator_email=nominator_email.strip(),
        nominator_digest=DataSubject.from_email(nominator_email, secret_key).digest,
        state=NominationState.PENDING,
    )
    session.add(nomination)
    session.commit()
    return nomination


def pending(session: Session, campaign: Campaign) -> list[Nomination]:
    """Nominations awaiting a decision, oldest first."""
    return list(
        session.scalars(
            select(Nomination)
            .where(
                Nomination.campaign_id == campaign.id, Nomination.state == NominationState.PENDING
            )
            .order_by(Nomination.id)
        )
    )


def decide(
    session: Session, nomination: Nomination, *, accept: bool, public: bool = False
) -> Target | None:
    """Accept (as a postal target, shown publicly only if `public`) or decline a nomination.

    Either way the nominator's name and email are erased: they were needed only to ask
    questions before the decision.
    """
    if nomination.state != NominationState.PENDING:
        raise NominationError("This nomination has already been decided.")
    target = None
    if accept:
        campaign = session.get_one(Campaign, nomination.campaign_id)
        target = targets.add_target(
            session,
            campaign,
            name=nomination.detainee_name,
            postal_address=nomination.prison_address,
        )
        target.is_public = public
        nomination.target_id = target.id
    nomination.state = NominationState.ACCEPTED if accept else NominationState.DECLINED
    nomination.decided_at = utcnow()
    nomination.nominator_name = ""
    nomination.nominator_email = ""
    nomination.nominator_digest = ""
    session.flush()
    return target
