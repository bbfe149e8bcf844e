"""Campaign kinds: one module per kind behind one protocol, and the registry that maps them.

Adding a kind adds a module and a line in `_REGISTRY`; nothing else branches on the kind.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from advocacy.kinds.base import Delivery, Kind, Recipient, SignerField
from advocacy.kinds.mp_letter import MpLetter
from advocacy.kinds.petition import Petition
from advocacy.kinds.pledge import Pledge
from advocacy.kinds.postal import Postal
from advocacy.models import Campaign, CampaignKind

if TYPE_CHECKING:
    from advocacy.config import Settings
    from advocacy.delivery.mail import MailBackend

logger = logging.getLogger(__name__)

__all__ = [
    "Delivery",
    "Kind",
    "Recipient",
    "SignerField",
    "UnsupportedKind",
    "all_kinds",
    "deliver_due",
    "for_campaign",
    "get",
]


class UnsupportedKind(LookupError):
    """A campaign whose kind has no module in this version of the engine."""


_REGISTRY: dict[CampaignKind, Kind] = {
    CampaignKind.MP_LETTER: MpLetter(),
    CampaignKind.PETITION: Petition(),
    CampaignKind.PLEDGE: Pledge(),
    CampaignKind.POSTAL: Postal(),
}


def get(kind: CampaignKind | str) -> Kind:
    """The module for a kind; raise UnsupportedKind when there is none."""
    try:
        return _REGISTRY[CampaignKind(kind)]
    except (KeyError, ValueError) as exc:
        raise UnsupportedKind(f"no campaign kind {kind!r}") from exc


def for_campaign(campaign: Campaign) -> Kind:
    """The module for a campaign's kind."""
    return get(campaign.kind)


def all_kinds() -> list[Kind]:
    """Every supported kind, in the order CampaignKind declares them."""
    return [_REGISTRY[kind] for kind in CampaignKind if kind in _REGISTRY]


def deliver_due(settings: Settings, backend: MailBackend, now: datetime) -> int:
    """Ask every kind to send what its schedule says is due; one kind's failure spoils none."""
    total = 0
    for kind in all_kinds():
        try:
            total += kind.deliver_due(settings, backend, now)
        except Exception as exc:
            # The message may name a campaign's signer, so only the type is logged.
            logger.error("scheduled delivery of %s failed: %s", kind.kind, type(exc).__name__)
    return total
