"""A letter from each person to their own MP, emailed one by one."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from advocacy.delivery.compose import compose_letter
from advocacy.delivery.queue import queue_letter
from advocacy.kinds.base import Delivery, Recipient, SignerField
from advocacy.models import Campaign, CampaignKind, Letter, LetterState

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend, OutgoingEmail


class MpLetter:
    """UK constituents only: their postcode finds their MP, who gets their letter by email."""

    kind = CampaignKind.MP_LETTER
    label = "Letter to your MP"
    delivery = Delivery.EMAIL_EACH
    signer_fields = frozenset(
        {
            SignerField.NAME,
            SignerField.EMAIL,
            SignerField.ADDRESS,
            SignerField.UK_POSTCODE,
            SignerField.OWN_WORDS,
        }
    )
    journey_endpoint = "campaigns.campaign"
    confirm_path = "/letters/confirm/"
    email_templates = ""
    after_signing = "We send your letter to your MP within minutes, with your name on it."

    def recipients(
        self, session: Session, campaign: Campaign, *, constituency_code: str | None = None
    ) -> list[Recipient]:
        """The MP for the signer's constituency (none without one, or for a vacant seat)."""
        from advocacy.directory.service import get_directory

        if not constituency_code:
            return []
        rep = get_directory().by_constituency(constituency_code)
        if rep is None or rep.is_vacant:
            return []
        return [
            Recipient(
                name=rep.name or "",
                role=f"MP for {rep.constituency_name}",
                email=rep.email,
                member_id=rep.member_id,
                constituency_code=rep.constituency_code,
            )
        ]

    def page_context(self, session: Session, campaign: Campaign) -> dict[str, Any]:
        """The MP journey has its own pages."""
        return {}

    def after_confirm(self, session: Session, letter: Letter, settings: Settings) -> None:
        """Queue the letter for its MP, or hold it for review if it is a near-copy."""
        # Imported here: the words package builds on the journey's template rendering.
        from advocacy.words.services import check_on_confirm

        held_because = check_on_confirm(session, letter, settings)
        if held_because is None:
            queue_letter(session, letter)
        else:
            letter.transition(LetterState.HELD, reason=held_because)

    def compose(self, letter: Letter, settings: Settings) -> OutgoingEmail:
        """The email to the MP, from our address with the constituent's name on it."""
        return compose_letter(letter, settings)

    def deliver_due(self, settings: Settings, backend: MailBackend, now: datetime) -> int:
        """Nothing is scheduled: the queue sends each letter as soon as it is confirmed."""
        return 0
