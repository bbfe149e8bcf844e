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


@dataclass(frozen=True)
class PostcodeCheck:
    """The outcome of checking a letter's postcode against its recipient."""

    # What to tell the person, or None when the postcode belongs.
    problem: str | None
    # The recipient to carry forward (with the postcode, once confirmed).
    recipient: Recipient
    # True when the postcode may well be right but another MP's: offer to look it up.
    elsewhere: bool = False


KEPT = "find its MP with the button below: everything you have written is kept."


def check_postcode(recipient: Recipient, postcode: str) -> PostcodeCheck:
    """Whether a letter's (normalised) postcode lies in the recipient's constituency.

    Once a postcode is confirmed to belong, it travels in the token and later pages check
    it without another look-up; the postcode that was looked up needs no look-up at all.
    """
    if postcode == recipient.postcode:
        return PostcodeCheck(None, recipient)
    directory = get_directory()
    try:
        found = directory.find_by_postcode(postcode)
    except pl.LookupUnavailable:
        if recipient.postcode:
            return PostcodeCheck(
                f"This is not the postcode you looked up ({recipient.postcode}). If you live "
                f"at this postcode, {KEPT}",
                recipient,
                elsewhere=True,
            )
        # Chosen from the list because look-ups are down: the person picked this seat
        # themselves, and it is still one of ours; refusing would stop every letter.
        logger.warning("letter postcode not checked: postcode look-ups unavailable")
        return PostcodeCheck(None, recipient)
    except pl.PostcodeLookupError:
        return PostcodeCheck(
            "We could not find this postcode. Please check it is the postcode where you live.",
            recipient,
        )
    if found.constituency_code != recipient.constituency_code:
        chosen = directory.by_constituency(recipient.constituency_code)
        chosen_name = chosen.constituency_name if chosen else "the constituency you chose"
        return PostcodeCheck(
            f"This postcode is in {found.constituency_name}, not {chosen_name}. MPs act only "
            f"for their own constituents: if you live here, {KEPT}",
            recipient,
            elsewhere=True,
        )
    return PostcodeCheck(None, Recipient(recipient.constituency_code, postcode))
