"""Fixtures for the privacy tests: one person's data in every table, and someone else's."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from advocacy.delivery.queue import queue_letter, submit_letter
from advocacy.models import Campaign, Letter, PostcodeCacheEntry, Signature
from advocacy.privacy.registry import DataSubject
from advocacy.words.services import letter_hashes, record_fingerprints
from tests.conftest import TEST_SECRET
from tests.delivery.conftest import campaign
from tests.delivery.helpers import new_letter

__all__ = ["campaign"]


@dataclass(frozen=True)
class Person:
    """What one person gave us, to look for after erasure."""

    name: str
    email: str
    address: str
    postcode: str
    words: str

    @property
    def subject(self) -> DataSubject:
        """The person as the privacy services know them."""
        return DataSubject.from_email(self.email, TEST_SECRET)

    def needles(self) -> list[str]:
        """Every piece of the person's data that must not survive erasure."""
        compact = self.postcode.replace(" ", "")
        lines = [line for line in self.address.splitlines() if line.strip()]
        return [
            self.name,
            self.email,
            self.email.lower(),
            *lines,
            self.postcode,
            compact,
            self.words,
            *self.words.split(". ")[:1],
        ]


AYESHA = Person(
    name="Gulnisa Tursunova",
    email="Gulnisa.T@example.org",
    address="7 Quince Mews\nFarnborough",
    postcode="GU14 7QQ",
    words="My brother Erkin was taken from Kashgar in 2018 and we have heard nothing since.",
)
OTHER = Person(
    name="Tom Reeve",
    email="tom.reeve@example.net",
    address="3 Mill Lane\nAldershot",
    postcode="GU11 3BB",
    words="I teach in Aldershot and my pupils asked me to write about forced labour.",
)


def add_person(session: Session, campaign: Campaign, person: Person) -> Letter:
    """A confirmed, queued letter from `person`, counted, indexed and with a cached postcode."""
    subject = person.subject
    letter = new_letter(
        campaign,
        email_digest=subject.digest,
        sender_name=person.name,
        sender_email=person.email,
        sender_address=person.address,
        sender_postcode=person.postcode,
        personal_text=person.words,
        body_text=f"Dear Jo Bloggs,\n\n{person.words}\n\nYours sincerely,\n{person.name}",
    )
    submit_letter(session, letter)
    session.commit()
    session.add(letter)
    signature = Signature(
        campaign_id=campaign.id, email_digest=subject.digest, constituency_code="E14001063"
    )
    session.add(signature)
    session.flush()
    letter.signature_id = signature.id
    record_fingerprints(session, letter.id, campaign.id, letter_hashes(letter, TEST_SECRET))
    queue_letter(session, letter)
    session.merge(PostcodeCacheEntry(postcode=person.postcode, constituency_code="E14001063"))
    session.commit()
    return letter
