"""Who a letter goes to: chosen on the server, carried signed, checked against the postcode.

The MP page knows the constituency from the postcode look-up (or from the list a person
picked from when look-ups are down). That choice travels through the write and preview
pages as a signed token, never as a bare field, so editing the form cannot send a letter to
another MP; and the postcode in the letter's address must belong to that constituency.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from itsdangerous import BadSignature

import postcode_lookup as pl
from advocacy.directory.service import get_directory
from advocacy.security import signer

logger = logging.getLogger(__name__)

SALT = "letter-recipient"
# Every page of the journey issues a fresh token, so this only bounds how long a copied
# token can be replayed; the form token (two hours) always runs out first.
MAX_AGE = 24 * 3600


@dataclass(frozen=True)
class Recipient:
    """A constituency the server chose, and the postcode it was found from ("" if picked)."""

    constituency_code: str
    postcode: str = ""


def issue(recipient: Recipient) -> str:
    """A signed, expiring token naming the recipient's constituency."""
    return signer(SALT).dumps([recipient.constituency_code, recipient.postcode])


def verify(token: str | None) -> Recipient | None:
    """The recipient a token names, or None if it was not issued by us or is too old."""
    if not token:
        return None
    try:
        code, postcode = signer(SALT).loads(token, max_age=MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(code, str) or not isinstance(postcode, str):
        return None
    return Recipient(code, postcode)


def postcode_problem(recipient: Recipient, postcode: str) -> tuple[str | None, Recipient]:
    """Whether a letter's (normalised) postcode lies in the recipient's constituency.

    Returns a message for the person, or None, and the recipient to carry forward: once a
    postcode is confirmed to belong, it travels in the token and later pages check it
    without another look-up. A postcode that was looked up needs no look-up at all.
    """
    if postcode == recipient.postcode:
        return None, recipient
    directory = get_directory()
    try:
        found = directory.find_by_postcode(postcode)
    except pl.LookupUnavailable:
        if recipient.postcode:
            return (
                f"This is not the postcode you looked up ({recipient.postcode}). If you live "
                "at this postcode, please start again with it so we find the right MP.",
                recipient,
            )
        # Chosen from the list because look-ups are down: the person picked this seat
        # themselves, and it is still one of ours; refusing would stop every letter.
        logger.warning("letter postcode not checked: postcode look-ups unavailable")
        return None, recipient
    except pl.PostcodeLookupError:
        return (
            "We could not find this postcode. Please check it is the postcode where you live.",
            recipient,
        )
    if found.constituency_code != recipient.constituency_code:
        chosen = directory.by_constituency(recipient.constituency_code)
        chosen_name = chosen.constituency_name if chosen else "the constituency you chose"
        return (
            f"This postcode is in {found.constituency_name}, not {chosen_name}. MPs act only "
            "for their own constituents: if you live here, please start again with this "
            "postcode so we find your MP.",
            recipient,
        )
    return None, Recipient(recipient.constituency_code, postcode)
