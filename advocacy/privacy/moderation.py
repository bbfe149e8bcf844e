"""The moderation queue: letters held for a person to read, and what staff may do with them.

Letters are held as near-copies (their own words close to other letters'), as possible
duplicates (two requests may have reached the mail provider), or because they could not be
composed. Staff may send one, refuse it with a reason, or edit it and ask the writer, who
then sends it as edited from a signed link, or lets it lapse. Only here, behind the
MODERATE permission, are other people's words shown, side by side with the held letter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.campaigns.services import find_letter_for_token
from advocacy.config import Settings
from advocacy.delivery.personal_data import AWAITING_WRITER
from advocacy.delivery.queue import TWICE_IN_FLIGHT, queue_letter
from advocacy.models import Letter, LetterState, Notification, NotificationKind, utcnow
from advocacy.security import REVIEW_PURPOSE
from advocacy.words import services as words
from advocacy.words.services import NEAR_COPY, ReviewError, SimilarLetter

logger = logging.getLogger(__name__)

MAX_BODY = 12000


@dataclass(frozen=True)
class HeldLetter:
    """One letter in the queue, with what a reviewer needs to decide."""

    letter_id: int
    campaign_title: str
    recipient_name: str
    constituency_name: str | None
    held_at: datetime | None
    kind: str
    reason: str
    own_words: str
    body: str
    similar: tuple[SimilarLetter, ...]

    @property
    def can_ask_writer(self) -> bool:
        """Edit-and-ask suits a letter whose words are the problem, not its delivery."""
        return self.kind == "near-copy"


def _kind(reason: str) -> str:
    if reason.startswith(NEAR_COPY):
        return "near-copy"
    if reason.startswith(AWAITING_WRITER):
        return "waiting for the writer"
    if reason == TWICE_IN_FLIGHT:
        return "possible duplicate"
    if reason.startswith("cannot compose"):
        return "could not be composed"
    return "held"


def held_letters(session: Session, settings: Settings, *, limit: int = 50) -> list[HeldLetter]:
    """Letters held for review, oldest first; near-copies with the letters they are close to."""
    letters = session.scalars(
        select(Letter)
        .where(Letter.state == LetterState.HELD)
        .order_by(Letter.held_at, Letter.id)
        .limit(limit)
    )
    return [
        HeldLetter(
            letter_id=letter.id,
            campaign_title=letter.campaign.title,
            recipient_name=letter.recipient_name,
            constituency_name=letter.constituency_name,
            held_at=letter.held_at,
            kind=_kind(letter.failure_reason or ""),
            reason=letter.failure_reason or "",
            own_words=letter.personal_text,
            body=letter.body_text,
            similar=(
                words.similar_to(session, letter, settings)
                if (letter.failure_reason or "").startswith(NEAR_COPY)
                else ()
            ),
        )
        for letter in letters
    ]


def _held(session: Session, letter_id: int) -> Letter:
    letter = session.get(Letter, letter_id)
    if letter is None or letter.state != LetterState.HELD:
        raise ReviewError(f"Letter {letter_id} is not held for review (any more).")
    return letter


def approve(session: Session, letter_id: int) -> Letter:
    """Send a held letter after all, and commit."""
    letter = _held(session, letter_id)
    queue_letter(session, letter)
    letter.failure_reason = None
    session.commit()
    logger.info("held letter %s approved and queued", letter_id)
    return letter


def reject(session: Session, letter_id: int, reason: str) -> Letter:
    """Refuse a held letter with the reviewer's reason; it is never sent. Commits."""
    reason = " ".join(reason.split())
    if not reason:
        raise ReviewError("Please give a reason for refusing the letter.")
    letter = _held(session, letter_id)
    letter.transition(LetterState.FAILED, reason=f"refused after review: {reason}"[:2000])
    letter.next_attempt_at = None
    session.commit()
    logger.info("held letter %s refused after review", letter_id)
    return letter


def ask_writer(session: Session, letter_id: int, body: str) -> Letter:
    """Save a reviewer's edit and email the writer a link to send it as edited. Commits."""
    body = body.replace("\r\n", "\n").strip()
    if not body:
        raise ReviewError("The edited letter cannot be empty.")
    if len(body) > MAX_BODY:
        raise ReviewError(f"The edited letter is longer than {MAX_BODY} characters.")
    letter = _held(session, letter_id)
    if not (letter.failure_reason or "").startswith(NEAR_COPY):
        raise ReviewError("Only a letter held for its words can be edited and sent back.")
    letter.body_text = body
    letter.failure_reason = AWAITING_WRITER
    # The writer's link lasts as long as a confirmation link, and so does the letter.
    letter.state_changed_at = utcnow()
    session.add(
        Notification(
            letter_id=letter.id, kind=NotificationKind.REVIEW_REQUEST, next_attempt_at=utcnow()
        )
    )
    session.commit()
    logger.info("held letter %s edited in review; the writer is asked", letter_id)
    return letter


def find_edited_letter(session: Session, token: str) -> Letter | None:
    """The letter a review link names, or None if the link is bad or expired."""
    return find_letter_for_token(session, token, REVIEW_PURPOSE)


def is_awaiting_writer(letter: Letter) -> bool:
    """True while an edited letter waits for its writer's decision."""
    return letter.state == LetterState.HELD and letter.failure_reason == AWAITING_WRITER


def accept_edit(session: Session, letter: Letter, body: str, settings: Settings) -> bool:
    """The writer sends the letter as edited (or edited again): index and queue it. Commits.

    False when there is nothing to accept (already sent, refused or erased).
    """
    if not is_awaiting_writer(letter):
        return False
    body = body.replace("\r\n", "\n").strip()
    if not body or len(body) > MAX_BODY:
        raise ReviewError(f"Please keep the letter between 1 and {MAX_BODY} characters.")
    letter.body_text = body
    words.erase_fingerprints(session, [letter.id])
    words.record_fingerprints(
        session, letter.id, letter.campaign_id, words.letter_hashes(letter, settings.secret_key)
    )
    queue_letter(session, letter)
    letter.failure_reason = None
    session.commit()
    logger.info("held letter %s sent as edited by its writer", letter.id)
    return True
