"""The reply questionnaire on a fake clock: 14 days, 21 days, never a third time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.worker import run_maintenance
from advocacy.models import (
    Letter,
    LetterState,
    Notification,
    NotificationState,
    ReplyQuestionnaire,
    utcnow,
)
from tests.delivery.helpers import make_worker
from tests.fakes.sendgrid import AcceptedMessage, FakeSendGrid

KINDS = ("reply_check", "reply_check_again", "reply_useful")


class Clock:
    """Days since a letter was delivered, 40 real days ago (so every email is due now)."""

    def __init__(self) -> None:
        self.delivered = utcnow().replace(microsecond=0) - timedelta(days=40)

    def day(self, days: float) -> datetime:
        """The moment `days` days after delivery."""
        return self.delivered + timedelta(days=days)


@pytest.fixture
def clock() -> Clock:
    """The fake clock of these tests."""
    return Clock()


@pytest.fixture
def delivered(
    session: Session, sent: tuple[Letter, AcceptedMessage], clock: Clock
) -> tuple[Letter, AcceptedMessage]:
    """The sent letter, delivered at the clock's day 0."""
    letter, message = sent
    values = Letter.transition_values(LetterState.SENT, LetterState.DELIVERED, clock.day(0))
    session.execute(
        update(Letter)
        .where(Letter.id == letter.id)
        .values(**values, sent_at=clock.day(0) - timedelta(minutes=1))
    )
    session.commit()
    return letter, message


@pytest.fixture
def day(
    settings: Settings, fake_sendgrid: FakeSendGrid, clock: Clock
) -> Callable[[float], list[AcceptedMessage]]:
    """Run maintenance on a given day, then the worker; return the questionnaire emails sent."""

    def run(days: float) -> list[AcceptedMessage]:
        before = len(fake_sendgrid.accepted)
        run_maintenance(settings, now=clock.day(days))
        worker = make_worker(settings, fake_sendgrid)
        # Maintenance runs here on the fake clock only, not on the worker's real one.
        worker._last_maintenance = time.monotonic()
        worker.run(once=True)
        return [m for m in fake_sendgrid.accepted[before:] if m.custom_args().get("kind") in KINDS]

    return run


def links(message: AcceptedMessage) -> dict[str, str]:
    """The one-click links of a questionnaire email, by the path's last part."""
    text = message.content("text/plain") or ""
    found = re.findall(r"http://localhost(/letters/reply/\S+)", text)
    return {path.rsplit("/", 1)[1]: path for path in found}


def questionnaire(session: Session, letter: Letter) -> ReplyQuestionnaire | None:
    """The letter's questionnaire row as the database has it."""
    session.expire_all()
    return session.get(ReplyQuestionnaire, letter.id)


def test_asked_at_14_days_reminded_at_21_and_never_a_third_time(
    delivered: tuple[Letter, AcceptedMessage], day: Callable[[float], list[AcceptedMessage]]
) -> None:
    _letter, _ = delivered
    assert day(13.9) == []
    (asked,) = day(14)
    assert asked.custom_args()["kind"] == "reply_check"
    assert asked.to == ["ayesha@example.org"]
    assert "Has Jo Bloggs MP replied" in asked.payload["subject"]
    assert set(links(asked)) == {"yes", "acknowledgement", "not_yet", "no"}
    assert day(15) == []
    assert day(20.9) == []
    (reminder,) = day(21)
    assert reminder.custom_args()["kind"] == "reply_check_again"
    assert links(reminder) == links(asked)
    for later in (22, 28, 29.9, 45):
        assert day(later) == []


def test_a_detected_reply_turns_the_question_into_was_it_useful(
    delivered: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    _letter, message = delivered
    post_reply(message)
    (asked,) = day(14)
    assert asked.custom_args()["kind"] == "reply_useful"
    assert set(links(asked)) == {"yes", "partly", "no"}
    assert day(21) == []
    assert day(25) == []


def test_an_automatic_acknowledgement_still_gets_the_question(
    delivered: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    _, message = delivered
    post_reply(message, extra_headers=("Auto-Submitted: auto-replied",))
    (asked,) = day(14)
    assert asked.custom_args()["kind"] == "reply_check"


def test_a_reply_detected_after_the_question_stops_the_reminder(
    delivered: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    _, message = delivered
    assert len(day(14)) == 1
    post_reply(message)
    assert day(21) == []


def test_a_question_queued_before_a_reply_arrived_is_cancelled_not_sent(
    session: Session,
    settings: Settings,
    delivered: tuple[Letter, AcceptedMessage],
    post_reply: Callable[..., Any],
    fake_sendgrid: FakeSendGrid,
    clock: Clock,
) -> None:
    letter, message = delivered
    run_maintenance(settings, now=clock.day(14))
    post_reply(message)
    worker = make_worker(settings, fake_sendgrid)
    worker._last_maintenance = time.monotonic()
    worker.run(once=True)
    session.expire_all()
    (notification,) = session.scalars(
        select(Notification).where(
            Notification.letter_id == letter.id, Notification.kind == "reply_check"
        )
    )
    assert notification.state == NotificationState.CANCELLED
    assert all(m.custom_args().get("kind") != "reply_check" for m in fake_sendgrid.accepted)


def test_one_click_records_the_answer_and_no_reminder_follows(
    session: Session,
    client: FlaskClient,
    delivered: tuple[Letter, AcceptedMessage],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    letter, _ = delivered
    (asked,) = day(14)
    response = client.get(links(asked)["yes"])
    assert response.status_code == 200
    assert "We have recorded your answer" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    row = questionnaire(session, letter)
    assert row is not None
    assert row.answer == "yes"
    assert day(21) == []


def test_the_answer_can_be_changed_and_writing_again_is_offered_once(
    session: Session,
    client: FlaskClient,
    delivered: tuple[Letter, AcceptedMessage],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    letter, _ = delivered
    (asked,) = day(14)
    first = client.get(links(asked)["not_yet"]).get_data(as_text=True)
    assert "Write another letter" in first
    assert "Change your answer" in first
    again = client.get(links(asked)["no"]).get_data(as_text=True)
    assert "Write another letter" not in again
    row = questionnaire(session, letter)
    assert row is not None
    assert row.answer == "no"
    page = client.get(links(asked)["yes"]).get_data(as_text=True)
    assert "Was the reply useful?" in page
    useful = re.search(r'href="(/letters/reply/[^"]+/useful/partly)"', page)
    assert useful is not None
    client.get(useful.group(1))
    row = questionnaire(session, letter)
    assert row is not None
    assert (row.answer, row.usefulness) == ("yes", "partly")


def test_a_forged_link_is_refused_and_records_nothing(
    session: Session,
    client: FlaskClient,
    delivered: tuple[Letter, AcceptedMessage],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    letter, _ = delivered
    (asked,) = day(14)
    path = links(asked)["yes"]
    token = path.split("/")[3]
    forged = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    response = client.get(forged)
    assert response.status_code == 404
    assert "This link does not work" in response.get_data(as_text=True)
    assert client.get(path.replace("/yes", "/maybe")).status_code == 404
    assert questionnaire(session, letter).answer is None  # type: ignore[union-attr]


def test_no_questionnaire_once_personal_data_is_erased_but_answers_outlive_it(
    session: Session,
    client: FlaskClient,
    settings: Settings,
    delivered: tuple[Letter, AcceptedMessage],
    day: Callable[[float], list[AcceptedMessage]],
    clock: Clock,
) -> None:
    letter, _ = delivered
    (asked,) = day(14)
    client.get(links(asked)["not_yet"])
    run_maintenance(settings, now=clock.day(400))  # past PERSONAL_DATA_RETENTION_DAYS
    session.expire_all()
    assert session.get(Letter, letter.id).purged_at is not None  # type: ignore[union-attr]
    row = questionnaire(session, letter)
    assert row is not None
    assert row.answer == "not_yet"


def test_an_erased_letter_is_never_asked(
    session: Session,
    delivered: tuple[Letter, AcceptedMessage],
    day: Callable[[float], list[AcceptedMessage]],
) -> None:
    letter, _ = delivered
    session.execute(
        update(Letter).where(Letter.id == letter.id).values(purged_at=utcnow(), sender_email="")
    )
    session.commit()
    assert day(14) == []
    assert day(21) == []
    assert questionnaire(session, letter) is None
