""" "Send it from my own email": links that open the finished letter in the person's mailbox.

The letter then goes from the person's own address to their MP, and this server keeps none
of it: the links are built into the preview page and never stored. A person may also ask
to be counted, which records the campaign and constituency only, with no way to tell one
self-sent count from another.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from advocacy.campaigns.services import forget_count
from advocacy.delivery.compose import address_lines
from advocacy.directory.service import Representative
from advocacy.models import Campaign, Signature

# The marker that stands in for an address digest on a self-sent count: random, so two
# counts are never linked, and never a 64-character hex digest, so no address matches it.
SELF_SENT_PREFIX = "self-"


@dataclass(frozen=True)
class ComposeLinks:
    """Where the finished letter can be opened, addressed to the MP."""

    mailto: str
    gmail: str
    outlook: str
    signature: str


def self_signature(name: str, address: str, postcode: str, email: str) -> str:
    """The block under a self-sent letter: name, address and email, so the MP sees a constituent."""
    lines = [name.strip(), *address_lines(address, postcode), email.strip()]
    return "\n".join(line for line in lines if line)


def compose_links(*, to: str, subject: str, body: str, signature: str) -> ComposeLinks:
    """mailto:, Gmail and Outlook links for one letter (RFC 6068 line breaks for mailto)."""
    text = f"{body.strip()}\n\n{signature}\n"
    mailto = (
        f"mailto:{quote(to, safe='@')}?subject={quote(subject, safe='')}"
        f"&body={quote(text.replace(chr(10), chr(13) + chr(10)), safe='')}"
    )
    gmail = "https://mail.google.com/mail/?" + urlencode(
        {"view": "cm", "fs": "1", "to": to, "su": subject, "body": text}, quote_via=quote
    )
    outlook = "https://outlook.live.com/mail/0/deeplink/compose?" + urlencode(
        {"to": to, "subject": subject, "body": text}, quote_via=quote
    )
    return ComposeLinks(mailto=mailto, gmail=gmail, outlook=outlook, signature=signature)


def count_self_sent(session: Session, campaign: Campaign, rep: Representative) -> Signature:
    """Count one self-sent letter: the campaign and constituency, nothing about the person."""
    signature = Signature(
        campaign_id=campaign.id,
        email_digest=SELF_SENT_PREFIX + uuid.uuid4().hex,
        constituency_code=rep.constituency_code,
        member_id=rep.member_id,
        is_self_sent=True,
    )
    session.add(signature)
    session.commit()
    forget_count(campaign.id)
    return signature
