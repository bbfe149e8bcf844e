"""Partners: managing them, their consent wording, the consents people give, their figures."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from advocacy.models import Campaign, ConsentWording, Letter, Partner, PartnerConsent, Signature
from advocacy.models.base import utcnow
from advocacy.partners.attribution import clean_origin

_CODE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,78}[a-z0-9])?$")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


class PartnerError(ValueError):
    """A partner's details that cannot be saved, with a message for the person editing them."""


@dataclass(frozen=True)
class PartnerDetails:
    """What staff edit about a partner."""

    slug: str
    name: str
    website: str = ""
    allowed_origins: tuple[str, ...] = ()
    contact_email: str = ""
    accent_colour: str = ""
    consent_wording: str = ""
    is_figures_public: bool = False
    is_active: bool = True


def parse_origins(text: str) -> tuple[str, ...]:
    """Origins typed one per line; refuses anything that is not scheme://host[:port]."""
    origins: list[str] = []
    for line in text.splitlines():
        raw = line.strip()
        if not raw:
            continue
        origin = clean_origin(raw)
        if not origin:
            raise PartnerError(
                f"“{raw[:80]}” is not a web origin. Write each site as "
                "https://www.example.org, without a path, one per line."
            )
        if origin.startswith("http://") and not _is_loopback(origin):
            raise PartnerError(f"{origin} must use https:// so the form is never shown insecurely.")
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)


def _is_loopback(origin: str) -> bool:
    host = origin.split("://", 1)[1].split(":", 1)[0]
    return host in {"localhost", "127.0.0.1"}


def _check(details: PartnerDetails) -> None:
    if not _CODE.match(details.slug):
        raise PartnerError(
            "The code may use lower-case letters, digits and hyphens (for example "
            "“leeds-uyghur-society”), and must start and end with a letter or digit."
        )
    if not details.name.strip():
        raise PartnerError("Give the partner a name.")
    if details.accent_colour:
        if not _COLOUR.match(details.accent_colour):
            raise PartnerError("The accent colour must look like #1d70b8.")
        if contrast_with_white(details.accent_colour) < 4.5:
            raise PartnerError(
                "That accent colour is too light: white text on it would be hard to read. "
                "Choose a darker shade (a contrast of at least 4.5 to 1 with white)."
            )


def contrast_with_white(colour: str) -> float:
    """The WCAG contrast ratio of white text on a #rrggbb colour."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def save_partner(
    session: Session, details: PartnerDetails, partner: Partner | None = None
) -> Partner:
    """Create or update a partner; a changed consent wording becomes a new version."""
    _check(details)
    clash = session.scalars(select(Partner).where(Partner.slug == details.slug)).first()
    if clash is not None and clash is not partner:
        raise PartnerError(f"Another partner already uses the code “{details.slug}”.")
    if partner is None:
        partner = Partner(slug=details.slug, name=details.name)
        session.add(partner)
    partner.slug = details.slug
    partner.name = details.name.strip()
    partner.website = details.website.strip()
    partner.allowed_origins = "\n".join(details.allowed_origins)
    partner.contact_email = details.contact_email.strip()
    partner.accent_colour = details.accent_colour.lower()
    partner.is_figures_public = details.is_figures_public
    partner.is_active = details.is_active
    set_consent_wording(session, partner, details.consent_wording)
    session.flush()
    return partner


def set_consent_wording(session: Session, partner: Partner, text: str) -> ConsentWording | None:
    """Record a new version when the wording changed; versions people saw are never edited."""
    text = " ".join(text.split())
    latest = partner.wordings[-1] if partner.wordings else None
    if (latest.text if latest else "") == text:
        return latest
    wording = ConsentWording(
        partner=partner, version=(latest.version + 1) if latest else 1, text=text
    )
    session.add(wording)
    return wording


def active_partner(session: Session, code: str | None) -> Partner | None:
    """An active partner by code, or None (unknown and inactive codes credit nobody)."""
    # Text that cannot be a code never reaches the database (a NUL there is a 500 on
    # PostgreSQL).
    if not code or not _CODE.match(code):
        return None
    return session.scalars(
        select(Partner).where(Partner.slug == code, Partner.is_active.is_(True))
    ).first()


def list_partners(session: Session) -> list[Partner]:
    """Every partner, by name."""
    return list(session.scalars(select(Partner).order_by(Partner.name)))


def record_consent(
    session: Session, *, partner: Partner, wording_id: int, letter: Letter, name: str, email: str
) -> PartnerConsent | None:
    """Keep a ticked box with the exact wording shown (None: not this partner's wording)."""
    wording = session.get(ConsentWording, wording_id)
    if wording is None or wording.partner_id != partner.id or not wording.text:
        return None
    consent = PartnerConsent(
        partner_id=partner.id,
        wording_id=wording.id,
        campaign_id=letter.campaign_id,
        letter_id=letter.id,
        email_digest=letter.email_digest,
        name=name,
        email=email,
    )
    session.add(consent)
    return consent


def confirm_consents(session: Session, letter_id: int, at: datetime | None = None) -> None:
    """The person confirmed their letter from their inbox: their ticked boxes now count."""
    session.execute(
        update(PartnerConsent)
        .where(PartnerConsent.letter_id == letter_id, PartnerConsent.confirmed_at.is_(None))
        .values(confirmed_at=at or utcnow())
    )


def drop_unconfirmed_consents(session: Session, letter_id: int) -> None:
    """The letter will never be confirmed: its ticked boxes, which never counted, go."""
    session.execute(
        delete(PartnerConsent).where(
            PartnerConsent.letter_id == letter_id, PartnerConsent.confirmed_at.is_(None)
        )
    )


@dataclass(frozen=True)
class ConsentRow:
    """One line of a partner's consent export."""

    name: str
    email: str
    campaign: str
    wording_version: int
    wording: str
    agreed_at: datetime


def iter_consents(session: Session, partner_id: int) -> Iterator[ConsentRow]:
    """The confirmed consents given to one partner, streamed (never another partner's)."""
    query = (
        select(
            PartnerConsent.name,
            PartnerConsent.email,
            Campaign.title,
            ConsentWording.version,
            ConsentWording.text,
            PartnerConsent.confirmed_at,
        )
        .join(ConsentWording, ConsentWording.id == PartnerConsent.wording_id)
        .join(Campaign, Campaign.id == PartnerConsent.campaign_id)
        .where(PartnerConsent.partner_id == partner_id, PartnerConsent.confirmed_at.is_not(None))
        .order_by(PartnerConsent.confirmed_at, PartnerConsent.id)
        .execution_options(yield_per=1000)
    )
    for name, email, title, version, text, at in session.execute(query):
        if at is not None:
            yield ConsentRow(name, email, title, version, text, at)


def public_partner_counts(session: Session, campaign: Campaign) -> dict[str, int]:
    """Signatures per partner, for partners that chose to show theirs."""
    rows = session.execute(
        select(Partner.slug, func.count(Signature.id))
        .join(Signature, Signature.partner_id == Partner.id)
        .where(
            Signature.campaign_id == campaign.id,
            Partner.is_figures_public.is_(True),
            Partner.is_active.is_(True),
        )
        .group_by(Partner.slug)
    )
    return {slug: int(count) for slug, count in rows}
