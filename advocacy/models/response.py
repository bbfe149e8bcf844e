"""What the campaign learns about MPs' replies: when, whether automatic, and answers.

Nothing here holds what anyone wrote: no body, subject, address or attachment of a reply is
ever stored. Rows belong to letters, whose rows outlive their personal data, so the figures
survive the letters' erasure.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from advocacy.models.base import Base, utcnow


class LetterReply(Base):
    """One reply (or automatic acknowledgement) detected through the per-letter address."""

    __tablename__ = "letter_replies"
    # Keyed by (letter, message), so the same message posted twice (SendGrid retries) is
    # recorded once. On SQLite the table is the key's own B-tree (WITHOUT ROWID): a reply
    # is then one B-tree insert rather than a row and a separate unique index.
    __table_args__ = ({"sqlite_with_rowid": False},)

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    # A keyed hash of the Message-ID (or, without one, of the header block): it tells two
    # posts of one message apart from two messages, and cannot be checked against a guess
    # without SECRET_KEY.
    message_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    is_automatic: Mapped[bool] = mapped_column(default=False)
    # Whether the sender's domain is the MP's (parliament.uk).
    is_from_mp: Mapped[bool] = mapped_column(default=False)


class ReplyAnswer(StrEnum):
    """The constituent's answer to "Has your MP replied?"."""

    YES = "yes"
    ACKNOWLEDGEMENT = "acknowledgement"  # only an automatic acknowledgement
    NOT_YET = "not_yet"
    NO = "no"


class Usefulness(StrEnum):
    """The answer to "Was the reply useful?", asked when a reply was detected."""

    YES = "yes"
    PARTLY = "partly"
    NO = "no"


class QuestionKind(StrEnum):
    """Which question a letter's questionnaire asks."""

    REPLIED = "replied"  # "Has your MP replied?"
    USEFUL = "useful"  # a reply was detected: "Was it useful?"


class ReplyQuestionnaire(Base):
    """The questionnaire of one letter: what was asked, when, and the answer."""

    __tablename__ = "reply_questionnaires"

    letter_id: Mapped[int] = mapped_column(
        ForeignKey("letters.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[QuestionKind] = mapped_column(String(20))
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(default=None)
    answer: Mapped[ReplyAnswer | None] = mapped_column(String(20), default=None)
    usefulness: Mapped[Usefulness | None] = mapped_column(String(20), default=None)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    write_again_offered_at: Mapped[datetime | None] = mapped_column(default=None)
