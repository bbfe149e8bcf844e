"""Fixtures for the dashboard tests: campaigns and letters in any state."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from advocacy.models import Campaign, Letter, LetterState, Signature, utcnow
from tests.workspace.conftest import _cheap_password_hashes, make_staff, staff_client

_serial = itertools.count(1)


def make_campaign(session: Session, slug: str = "save-libraries", **values: Any) -> Campaign:
    """A saved, live campaign."""
    values.setdefault("title", "Save our libraries")
    values.setdefault("summary", "Keep local libraries open.")
    values.setdefault("sender_name", "Save Our Libraries")
    row = Campaign(slug=slug, **values)
    session.add(row)
    session.commit()
    return row


def make_letter(
    session: Session,
    campaign: Campaign,
    path: tuple[LetterState, ...] = (),
    *,
    sign: bool = False,
    **overrides: Any,
) -> Letter:
    """A saved letter moved through `path` by legal transitions, one commit per step."""
    n = next(_serial)
    values: dict[str, Any] = {
        "campaign": campaign,
        "campaign_id": campaign.id,
        "email_digest": f"{n:064d}",
        "sender_name": "Ayesha Khan",
        "sender_email": f"ayesha{n}@example.org",
        "sender_address": "12 Acacia Avenue\nLeeds",
        "sender_postcode": "LS1 4AP",
        "personal_text": "Our library is where I learned to read.",
        "subject": "Please keep Leeds libraries open",
        "body_text": "Dear Jo Bloggs,\n\nPlease keep our libraries open.",
        "recipient_name": "Jo Bloggs MP",
        "recipient_email": "jo.bloggs.mp@parliament.uk",
        "recipient_member_id": 4001,
        "constituency_code": "E14001337",
        "constituency_name": "Leeds Central and Headingley",
    }
    values.update(overrides)
    letter = Letter(**values)
    session.add(letter)
    session.commit()
    if sign:
        signature = Signature(
            campaign_id=campaign.id,
            email_digest=letter.email_digest,
            constituency_code=letter.constituency_code,
            member_id=letter.recipient_member_id,
            partner_id=letter.partner_id,
            created_at=overrides.get("created_at", utcnow()),
        )
        session.add(signature)
        session.flush()
        letter.signature_id = signature.id
        session.commit()
    for state in path:
        letter.transition(state)
        session.commit()
    return letter


S = LetterState
DELIVERED_PATH = (S.QUEUED, S.SENDING, S.SENT, S.DELIVERED)


@pytest.fixture
def campaign(app: Flask, session: Session) -> Campaign:
    """A live campaign."""
    return make_campaign(session)


__all__ = ["_cheap_password_hashes", "make_staff", "staff_client"]
