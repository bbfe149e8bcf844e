"""Signing a campaign's fixed letter (petitions, pledges): signers from anywhere."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.orm import Session

import postcode_lookup as pl
from advocacy.campaigns import services as journey
from advocacy.kinds import countries
from advocacy.kinds.base import Recipient
from advocacy.models import Campaign, Letter, Partner
from advocacy.security import email_digest

logger = logging.getLogger(__name__)


class PostcodeProblem(journey.JourneyError):
    """A UK postcode that names no constituency; the signer can correct or remove it."""


@dataclass(frozen=True)
class Signer:
    """What a person gives to sign: no street address, ever."""

    name: str
    email: str
    country_code: str
    postcode: str = ""
    comment: str = ""
    share_with_mp: bool = False


@dataclass(frozen=True)
class Constituency:
    """Where a UK signer lives, so their MP's count includes them."""

    code: str
    name: str
    member_id: int | None


def join_names(names: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def fixed_letter(campaign: Campaign, recipients: list[Recipient]) -> tuple[str, str]:
    """The subject and text everyone signs: the campaign's first letter template."""
    if not campaign.templates:
        return campaign.title, campaign.summary
    template = campaign.templates[0]
    context = {"recipients": join_names([r.name for r in recipients]), "campaign": campaign.title}
    subject = journey.render_letter_text(template.subject_template, **context).strip()
    body = journey.render_letter_text(template.body_template, **context).strip()
    return subject, body


def find_constituency(postcode: str) -> Constituency | None:
    """A UK signer's constituency; None when the look-up is down (the signature still counts)."""
    if not postcode:
        return None
    from advocacy.directory.service import get_directory

    try:
        rep = get_directory().find_by_postcode(postcode)
    except pl.LookupUnavailable as exc:
        logger.warning("constituency of a signer not found: %s", exc.__class__.__name__)
        return None
    except pl.PostcodeLookupError as exc:
        raise PostcodeProblem(
            "We could not find that postcode. Please check it, or leave it empty: your "
            "signature counts either way."
        ) from exc
    return Constituency(rep.constituency_code, rep.constituency_name, rep.member_id)


def build_signature(
    *,
    campaign: Campaign,
    recipients: list[Recipient],
    signer: Signer,
    constituency: Constituency | None,
    secret_key: str,
    partner: Partner | None = None,
    source: str = "",
) -> Letter:
    """An unsaved letter carrying one signature, awaiting its email confirmation."""
    subject, body = fixed_letter(campaign, recipients)
    return Letter(
        campaign=campaign,
        campaign_id=campaign.id,
        partner_id=partner.id if partner else None,
        source=source,
        email_digest=email_digest(signer.email, secret_key),
        sender_name=signer.name,
        sender_email=signer.email,
        sender_address="",
        sender_postcode=signer.postcode,
        country_code=signer.country_code,
        personal_text=signer.comment,
        # Only a signer whose constituency is known has an MP to be named to.
        is_name_shared_with_mp=signer.share_with_mp and constituency is not None,
        subject=subject,
        body_text=body,
        recipient_name=join_names([r.name for r in recipients]) or campaign.title,
        constituency_code=constituency.code if constituency else None,
        constituency_name=constituency.name if constituency else None,
        recipient_member_id=constituency.member_id if constituency else None,
    )


ALREADY_SIGNED = (
    "You have already signed this campaign, so this signature will not be counted again. "
    "Thank you: one signature per person keeps every one counted."
)


def sign(session: Session, letter: Letter) -> Letter:
    """Save the signature and queue its confirmation email (same dedupe as letters).

    Like a letter, a second signature from one person is refused only at its emailed link,
    so the form never tells whoever types an address whether that address has signed.
    """
    return journey.submit(session, letter)


def country_name(code: str | None) -> str:
    """A signer's country as the bundle lists it."""
    return countries.name(code)
