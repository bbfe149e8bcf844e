"""The one small interface every campaign kind implements.

A kind answers three questions: who the letter goes to (`recipients`), what the signer must
give (`signer_fields`), and how it is delivered (`delivery`, `after_confirm`, `compose`,
`deliver_due`). The public journey, the worker and the staff screens ask the kind; none of
them branches on `CampaignKind`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.orm import Session

from advocacy.models import Campaign, CampaignKind, Letter

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend, OutgoingEmail


class Delivery(StrEnum):
    """How a kind's letters reach their recipients."""

    EMAIL_EACH = "email_each"  # every confirmed letter is emailed on its own by the worker
    BUNDLE = "bundle"  # signatures are delivered together to fixed targets, as PDF and CSV
    PRINT = "print"  # the writer prints, signs and posts the letter themselves
    COUNT = "count"  # nothing is sent: the signatures are counted (a pledge)


class SignerField(StrEnum):
    """One thing a signer may be asked for."""

    NAME = "name"
    EMAIL = "email"
    ADDRESS = "address"  # a street address, only where the recipient needs it
    UK_POSTCODE = "uk_postcode"  # required: it finds the signer's MP
    COUNTRY = "country"  # ISO 3166 country, for signers from anywhere
    OPTIONAL_UK_POSTCODE = "optional_uk_postcode"  # lets a UK signer's constituency count
    COMMENT = "comment"  # a one-line comment shown with the signature
    OWN_WORDS = "own_words"  # a paragraph in the writer's own words
    OPTIONAL_RETURN_ADDRESS = "optional_return_address"  # printed letters: theirs or ours


@dataclass(frozen=True)
class Recipient:
    """Someone a campaign's letters go to, however they are found."""

    name: str
    role: str = ""
    email: str | None = None
    postal_address: str | None = None
    target_id: int | None = None
    member_id: int | None = None
    constituency_code: str | None = None


class Kind(Protocol):
    """What the journey, the worker and the staff screens need from a campaign kind."""

    kind: CampaignKind
    label: str
    delivery: Delivery
    signer_fields: frozenset[SignerField]
    # The endpoint where the public journey starts for a campaign of this kind.
    journey_endpoint: str
    # Where a confirmation link points (the token follows), and the folder under
    # templates/emails/ of the confirmation and reminder emails ("" for the letter ones).
    confirm_path: str
    email_templates: str
    # One sentence for the thank-you page: what happens next.
    after_signing: str

    def recipients(
        self, session: Session, campaign: Campaign, *, constituency_code: str | None = None
    ) -> list[Recipient]:
        """Who a letter on this campaign goes to (for MP letters: the signer's own MP)."""
        ...

    def page_context(self, session: Session, campaign: Campaign) -> dict[str, Any]:
        """What the signing page shows of the campaign (the letter, or the demands)."""
        ...

    def after_confirm(self, session: Session, letter: Letter, settings: Settings) -> None:
        """What confirming a signer's email does, inside the confirmation's transaction."""
        ...

    def compose(self, letter: Letter, settings: Settings) -> OutgoingEmail:
        """The email that carries one letter, for kinds whose letters go one by one."""
        ...

    def deliver_due(self, settings: Settings, backend: MailBackend, now: datetime) -> int:
        """Send what this kind delivers on a schedule (bundles, digests); return how many."""
        ...
