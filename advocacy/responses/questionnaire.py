"""The reply questionnaire: "Has your MP replied?" 14 days after delivery, once more at 21.

A letter gets at most two questionnaire emails, ever: the question and, if it is still
unanswered, one reminder. When a real reply from the MP was detected before the question was
due, the one email asks instead whether the reply was useful. Nothing is asked once the
letter's personal data has been erased (there is no address to ask); answers already given
outlive the erasure, as counts. The emails are notifications sent by the delivery worker.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Insert, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from advocacy.campaigns.addressing import letter_date
from advocacy.delivery.compose import author_email, letter_context
from advocacy.delivery.mail import OutgoingEmail
from advocacy.models import (
    Letter,
    LetterReply,
    LetterState,
    Notification,
    NotificationKind,
    QuestionKind,
    ReplyAnswer,
    ReplyQuestionnaire,
    Usefulness,
    utcnow,
)
from advocacy.responses.tokens import questionnaire_token

if TYPE_CHECKING:
    from advocacy.config import Settings

logger = logging.getLogger(__name__)

ASK_AFTER = timedelta(days=14)
REMIND_AFTER = timedelta(days=21)
# The reminder also waits at least this long after the question, should the question have
# gone out late (a worker that was down).
REMIND_GAP = timedelta(days=5)

QUESTIONNAIRE_KINDS = frozenset(
    {
        NotificationKind.REPLY_CHECK,
        NotificationKind.REPLY_CHECK_AGAIN,
        NotificationKind.REPLY_USEFUL,
    }
)
# Letters that reached (or may have reached) the MP's inbox.
ASKABLE_STATES = (LetterState.SENT, LetterState.DELIVERED)

ANSWER_LABELS = {
    ReplyAnswer.YES: "Yes, my MP replied",
    ReplyAnswer.ACKNOWLEDGEMENT: "Only an automatic acknowledgement",
    ReplyAnswer.NOT_YET: "Not yet",
    ReplyAnswer.NO: "No",
}
USEFULNESS_LABELS = {
    Usefulness.YES: "Yes, it was useful",
    Usefulness.PARTLY: "Partly",
    Usefulness.NO: "No",
}


def delivered_at() -> Any:
    """When a letter reached the MP: its delivery event, or SendGrid's acceptance without one."""
    return func.coalesce(Letter.delivered_at, Letter.sent_at)


def real_reply_exists() -> Any:
    """A correlated EXISTS: the letter has a detected reply that was not automatic."""
    return exists().where(
        LetterReply.letter_id == Letter.id,
        LetterReply.is_automatic.is_(False),
        LetterReply.is_from_mp.is_(True),
    )


@functools.cache
def _ask_statement(dialect: str) -> Insert:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING tells whether the row went in on every backend (rowcount does not).
    return (
        insert(ReplyQuestionnaire)
        .on_conflict_do_nothing(index_elements=["letter_id"])
        .returning(ReplyQuestionnaire.letter_id)
    )


def queue_questionnaires(session: Session, now: datetime | None = None, limit: int = 500) -> int:
    """Queue the question for letters delivered 14 days ago, the reminder at 21; the count."""
    now = now or utcnow()
    return _queue_questions(session, now, limit) + _queue_reminders(session, now, limit)


def _queue_questions(session: Session, now: datetime, limit: int) -> int:
    due = session.execute(
        select(Letter.id, real_reply_exists())
        .where(
            Letter.state.in_(ASKABLE_STATES),
            Letter.purged_at.is_(None),
            Letter.recipient_member_id.is_not(None),
            delivered_at() <= now - ASK_AFTER,
            ~exists().where(ReplyQuestionnaire.letter_id == Letter.id),
        )
        .order_by(Letter.id)
        .limit(limit)
    ).all()
    statement = _ask_statement(session.get_bind().dialect.name)
    count = 0
    for letter_id, replied in due:
        kind = QuestionKind.USEFUL if replied else QuestionKind.REPLIED
        # Conditional, so two workers cannot both ask the same person.
        result = session.connection().execute(
            statement, {"letter_id": letter_id, "kind": kind.value, "asked_at": now}
        )
        if result.first() is not None:
            notification = (
                NotificationKind.REPLY_USEFUL if replied else NotificationKind.REPLY_CHECK
            )
            session.add(Notification(letter_id=letter_id, kind=notification, next_attempt_at=now))
            count += 1
    return count


def _queue_reminders(session: Session, now: datetime, limit: int) -> int:
    due = session.scalars(
        select(ReplyQuestionnaire.letter_id)
        .join(Letter, Letter.id == ReplyQuestionnaire.letter_id)
        .where(
            ReplyQuestionnaire.kind == QuestionKind.REPLIED,
            ReplyQuestionnaire.answer.is_(None),
            ReplyQuestionnaire.reminded_at.is_(None),
            ReplyQuestionnaire.asked_at <= now - REMIND_GAP,
            delivered_at() <= now - REMIND_AFTER,
            Letter.purged_at.is_(None),
            ~real_reply_exists(),
        )
        .order_by(ReplyQuestionnaire.letter_id)
        .limit(limit)
    ).all()
    count = 0
    for letter_id in due:
        stamped = session.execute(
            update(ReplyQuestionnaire)
            .where(
                ReplyQuestionnaire.letter_id == letter_id,
                ReplyQuestionnaire.reminded_at.is_(None),
                ReplyQuestionnaire.answer.is_(None),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(stamped, "rowcount", 0) == 1:
            session.add(
                Notification(
                    letter_id=letter_id,
                    kind=NotificationKind.REPLY_CHECK_AGAIN,
                    next_attempt_at=now,
                )
            )
            count += 1
    return count


def _still_wanted(session: Session, notification: Notification, letter: Letter) -> bool:
    """False when the question no longer makes sense: erased, answered, or a reply came."""
    if letter.purged_at is not None or not letter.sender_email:
        return False
    questionnaire = session.get(ReplyQuestionnaire, letter.id)
    if notification.kind == NotificationKind.REPLY_USEFUL:
        return questionnaire is None or questionnaire.usefulness is None
    if questionnaire is not None and questionnaire.answer is not None:
        return False
    replied = session.scalar(
        select(real_reply_exists()).select_from(Letter).where(Letter.id == letter.id)
    )
    return not replied


def answer_links(letter: Letter, settings: Settings) -> dict[str, str]:
    """The one-click answer links of a letter's questionnaire, by answer."""
    base = f"{settings.base_url}/letters/reply/{questionnaire_token(letter.public_id)}"
    links = {answer.value: f"{base}/{answer.value}" for answer in ReplyAnswer}
    links.update({f"useful_{u.value}": f"{base}/useful/{u.value}" for u in Usefulness})
    return links


def compose_question(
    session: Session, notification: Notification, settings: Settings
) -> OutgoingEmail | None:
    """The questionnaire email of a notification, or None if it should not be sent now."""
    letter = notification.letter
    if letter is None or not _still_wanted(session, notification, letter):
        return None
    sent = letter.delivered_at or letter.sent_at or utcnow()
    context = {
        **letter_context(letter),
        "sent_on": letter_date(sent),
        "links": answer_links(letter, settings),
        "answer_labels": {a.value: label for a, label in ANSWER_LABELS.items()},
        "usefulness_labels": {u.value: label for u, label in USEFULNESS_LABELS.items()},
    }
    return author_email(
        notification, letter, NotificationKind(notification.kind), settings, context
    )


def record_answer(
    session: Session,
    letter: Letter,
    *,
    answer: ReplyAnswer | None = None,
    usefulness: Usefulness | None = None,
    now: datetime | None = None,
) -> tuple[ReplyQuestionnaire, bool]:
    """Record (or change) an answer; also whether to offer, this once, to write again.

    The caller commits.
    """
    now = now or utcnow()
    questionnaire = session.get(ReplyQuestionnaire, letter.id)
    if questionnaire is None:
        kind = QuestionKind.USEFUL if usefulness is not None else QuestionKind.REPLIED
        questionnaire = ReplyQuestionnaire(letter_id=letter.id, kind=kind, asked_at=now)
        session.add(questionnaire)
    if answer is not None:
        questionnaire.answer = answer
    if usefulness is not None:
        questionnaire.usefulness = usefulness
        # Saying a reply was useful (or not) says the MP replied.
        questionnaire.answer = questionnaire.answer or ReplyAnswer.YES
    questionnaire.answered_at = now
    offer = questionnaire.write_again_offered_at is None and questionnaire.answer in {
        ReplyAnswer.NOT_YET,
        ReplyAnswer.NO,
        ReplyAnswer.ACKNOWLEDGEMENT,
    }
    if offer:
        questionnaire.write_again_offered_at = now
    return questionnaire, offer
