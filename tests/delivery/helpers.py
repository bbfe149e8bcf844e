"""Helpers for the delivery tests: letter factories, workers, subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.mail import SendGridBackend
from advocacy.delivery.queue import queue_letter, submit_letter
from advocacy.delivery.worker import RetryPolicy, Worker
from advocacy.extensions import db
from advocacy.models import Campaign, Letter, Notification, utcnow
from tests.conftest import TEST_SECRET
from tests.fakes.sendgrid import FakeSendGrid

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MP_EMAIL = "jo.bloggs.mp@parliament.uk"


def is_postgresql(url: str) -> bool:
    """True when the test database is PostgreSQL."""
    return url.startswith("postgresql")


def new_letter(campaign: Campaign, **overrides: Any) -> Letter:
    """An unsaved letter awaiting confirmation."""
    values: dict[str, Any] = {
        "campaign": campaign,
        "campaign_id": campaign.id,
        "email_digest": "0" * 64,
        "sender_name": "Ayesha Khan",
        "sender_email": "ayesha@example.org",
        "sender_address": "12 Acacia Avenue\nLeeds",
        "sender_postcode": "LS1 4AP",
        "personal_text": "Our library is where I learned to read.",
        "subject": "Please keep Leeds libraries open",
        "body_text": "Dear Jo Bloggs,\n\nPlease keep our libraries open.\n\nYours sincerely,\n"
        "Ayesha Khan",
        "recipient_name": "Jo Bloggs MP",
        "recipient_email": MP_EMAIL,
        "recipient_member_id": 4001,
        "constituency_code": "E14001337",
        "constituency_name": "Leeds Central and Headingley",
    }
    values.update(overrides)
    return Letter(**values)


def add_submitted(session: Session, campaign: Campaign, **overrides: Any) -> Letter:
    """A saved letter awaiting confirmation, with its confirmation queued, in `session`."""
    letter = new_letter(campaign, **overrides)
    submit_letter(session, letter)
    session.commit()
    session.add(letter)
    return letter


def add_queued(
    session: Session, campaign: Campaign, count: int = 1, **overrides: Any
) -> list[Letter]:
    """Saved, confirmed letters in the queue (their confirmation emails already sent)."""
    letters = []
    for i in range(count):
        letter = new_letter(campaign, email_digest=f"{i:064d}", **overrides)
        session.add(letter)
        queue_letter(session, letter)
        letters.append(letter)
    session.commit()
    return letters


def letters_by_state(session: Session) -> dict[str, int]:
    """How many letters are in each state."""
    session.expire_all()
    counts: dict[str, int] = {}
    for letter in session.scalars(select(Letter)):
        counts[letter.state] = counts.get(letter.state, 0) + 1
    return counts


def reload(session: Session, row: Letter | Notification) -> Any:
    """The row as the database has it now."""
    session.expire_all()
    return session.get(type(row), row.id)


def make_worker(settings: Settings, fake: FakeSendGrid, **kwargs: Any) -> Worker:
    """A worker sending to the fake with short timeouts and fast retries."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, base_seconds=0.05, cap_seconds=0.2))
    kwargs.setdefault("poll_seconds", 0.05)
    backend = kwargs.pop("backend", None) or SendGridBackend(
        fake.api_key, fake.url, timeout=(1.0, kwargs.pop("read_timeout", 2.0))
    )
    return Worker(settings, backend, **kwargs)


def worker_env(
    database_url: str, instance_path: Path, fake: FakeSendGrid, **extra: str
) -> dict[str, str]:
    """The environment of an `advocacy worker` subprocess pointed at the fake."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key in {"PATH", "HOME", "LANG", "LC_ALL", "TZ", "SYSTEMROOT"}
    }
    env.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "INSTANCE_PATH": str(instance_path),
            "BASE_URL": "http://localhost",
            "MAIL_BACKEND": "sendgrid",
            "SENDGRID_API_KEY": fake.api_key,
            "SENDGRID_API_HOST": fake.url,
            "MAIL_FROM": "letters@campaign.example",
            "WORKER_POLL_SECONDS": "0.05",
            "PYTHONPATH": str(PROJECT_ROOT),
        }
    )
    env.update(extra)
    return env


def worker_args(*args: str) -> list[str]:
    """The command line of `advocacy worker`, run by this interpreter."""
    return [sys.executable, "-c", "from advocacy.cli import main; main()", "worker", *args]


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """Start `advocacy worker` as a separate process (stdout and stderr piped together)."""
    return subprocess.Popen(
        worker_args(*args),
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def aware(value: datetime | None) -> datetime:
    """A non-None datetime (for mypy-free comparisons in tests)."""
    assert value is not None
    return value


def now() -> datetime:
    """The current UTC time."""
    return utcnow()


def dispose_pool() -> None:
    """Close pooled connections, e.g. before a subprocess needs the database to itself."""
    db.dispose()
