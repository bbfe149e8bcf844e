"""Delivery throughput: letters per second through the worker, against a slow fake SendGrid.

    .venv/bin/python bench/drain.py

Starts its own fake SendGrid on loopback (in a process of its own, as the real one is remote)
that adds 50 ms to every request, then measures:

* a plain loop of `SendGridAPIClient.send` calls (the library's own client, one at a time);
* one worker, in this process, draining a temporary SQLite database;
* 1, 2 and 4 `advocacy worker` processes draining PostgreSQL together (TEST_DATABASE_URL, or
  the local `test` database), skipped with a note when PostgreSQL cannot be reached. This
  drops and recreates the tables of that database, like the test suite does.

Each measurement is printed as a JSON line; the last line is one object whose `ratio` is the
one-worker rate divided by the plain loop's (the goal is at least 10).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alembic import command  # noqa: E402
from sqlalchemy import create_engine, func, inspect, select, text  # noqa: E402

from advocacy import create_app  # noqa: E402
from advocacy.config import Settings  # noqa: E402
from advocacy.delivery.mail import SendGridBackend, build_mail  # noqa: E402
from advocacy.delivery.queue import queue_letter  # noqa: E402
from advocacy.delivery.worker import Worker  # noqa: E402
from advocacy.extensions import db  # noqa: E402
from advocacy.migrate import alembic_config  # noqa: E402
from advocacy.models import Campaign, Letter, LetterState  # noqa: E402

LATENCY = 0.05
PLAIN_LETTERS = 60
SQLITE_LETTERS = 1000
POSTGRES_LETTERS = 2000
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-not-for-production"  # noqa: S105 - a throwaway database


def emit(record: dict[str, Any]) -> None:
    """Print one JSON line."""
    print(json.dumps(record), flush=True)


class RemoteFake:
    """The fake SendGrid (tests/fakes/sendgrid.py) served by a separate process."""

    def __init__(self, latency: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.sendgrid", "--latency", str(latency)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        info = json.loads(self.process.stdout.readline())
        self.url: str = info["url"]
        self.api_key: str = info["api_key"]
        self.request_count = 0

    def stop(self) -> None:
        """Stop the fake; keep its request count."""
        output, _ = self.process.communicate(b"", timeout=30)
        self.request_count = json.loads(output.splitlines()[-1])["requests"]


def environment(database_url: str, instance: Path, fake: RemoteFake) -> dict[str, str]:
    """The environment of the app and its workers for one measurement."""
    return {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "INSTANCE_PATH": str(instance),
        "BASE_URL": "http://localhost",
        "MAIL_BACKEND": "sendgrid",
        "SENDGRID_API_KEY": fake.api_key,
        "SENDGRID_API_HOST": fake.url,
        "MAIL_FROM": "letters@campaign.example",
        "WORKER_POLL_SECONDS": "0.05",
    }


def sample_letter(campaign: Campaign, i: int) -> Letter:
    """A confirmed letter like the journey makes."""
    return Letter(
        campaign=campaign,
        campaign_id=campaign.id,
        email_digest=f"{i:064d}",
        sender_name="Ayesha Khan",
        sender_email="ayesha@example.org",
        sender_address="12 Acacia Avenue\nLeeds",
        sender_postcode="LS1 4AP",
        personal_text="Our library is where I learned to read.",
        subject="Please keep Leeds libraries open",
        body_text="Dear Jo Bloggs,\n\nPlease keep our libraries open.\n\nYours sincerely,\n"
        "Ayesha Khan",
        recipient_name="Jo Bloggs MP",
        recipient_email=f"mp{i % 650}@parliament.uk",
        recipient_member_id=4000 + i % 650,
    )


def fresh_database(url: str) -> None:
    """Drop every table and migrate from scratch, on a connection of our own."""
    engine = create_engine(url)
    with engine.begin() as conn:
        if url.startswith("postgresql"):
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, "heads")
    engine.dispose()


def add_letters(count: int) -> None:
    """Queue `count` confirmed letters in one transaction (inside an app context)."""
    with db.transaction() as session:
        campaign = session.scalars(select(Campaign)).first()
        if campaign is None:
            campaign = Campaign(
                slug="bench", title="Bench", summary="Bench.", sender_name="Bench Campaign"
            )
            session.add(campaign)
            session.flush()
        for i in range(count):
            letter = sample_letter(campaign, i)
            session.add(letter)
            queue_letter(session, letter)


def sent_count() -> int:
    """How many letters are sent."""
    with db.transaction() as session:
        return int(
            session.scalar(select(func.count(Letter.id)).where(Letter.state == LetterState.SENT))
            or 0
        )


def plain_loop(fake: RemoteFake, campaign_app: Any) -> float:
    """Letters per second from a loop of SendGridAPIClient.send calls."""
    from sendgrid import SendGridAPIClient

    from advocacy.delivery.compose import compose_letter

    client = SendGridAPIClient(api_key=fake.api_key, host=fake.url)
    with campaign_app.app_context():
        campaign = Campaign(slug="plain", title="Plain", summary=".", sender_name="Plain")
        mails = [
            build_mail(compose_letter(sample_letter(campaign, i), campaign_app.config["SETTINGS"]))
            for i in range(PLAIN_LETTERS)
        ]
    started = time.perf_counter()
    for mail in mails:
        response = client.send(mail)
        assert response.status_code == 202
    return PLAIN_LETTERS / (time.perf_counter() - started)


def one_worker_sqlite(fake: RemoteFake, workdir: Path) -> tuple[float, Any, int]:
    """Letters per second for one worker (default settings) draining SQLite."""
    url = f"sqlite:///{workdir / 'drain.db'}"
    fresh_database(url)
    settings = Settings.from_env(environment(url, workdir / "sqlite", fake))
    app = create_app(settings)
    with app.app_context():
        add_letters(SQLITE_LETTERS)
        backend = SendGridBackend(settings.sendgrid_api_key, settings.sendgrid_api_host)
        worker = Worker(settings, backend)
        started = time.perf_counter()
        report = worker.run(once=True)
        elapsed = time.perf_counter() - started
        assert report.sent == SQLITE_LETTERS == sent_count(), report.summary()
        db.dispose()
    return SQLITE_LETTERS / elapsed, app, settings.worker_concurrency


def postgres_reachable(url: str) -> str | None:
    """None if PostgreSQL answers, else why not."""
    try:
        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {url.split('@')[-1]} unreachable: {type(exc).__name__}"
    return None


def workers_postgres(fake: RemoteFake, url: str, workdir: Path, count: int) -> float:
    """Letters per second for `count` worker processes draining PostgreSQL together."""
    fresh_database(url)
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        **environment(url, workdir / f"pg{count}", fake),
        "PYTHONPATH": str(ROOT),
    }
    settings = Settings.from_env(env)
    app = create_app(settings)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", "from advocacy.cli import main; main()", "worker"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(count)
    ]
    try:
        for process in processes:
            assert process.stdout is not None
            process.stdout.readline()  # "worker ... starting": it is ready to claim
        with app.app_context():
            add_letters(POSTGRES_LETTERS)
            started = time.perf_counter()
            deadline = started + 300
            while sent_count() < POSTGRES_LETTERS:
                if time.perf_counter() > deadline:
                    raise RuntimeError("the workers did not drain the queue in 5 minutes")
                time.sleep(0.05)
            elapsed = time.perf_counter() - started
            db.dispose()
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.communicate(timeout=60)
    return POSTGRES_LETTERS / elapsed


def main() -> None:
    """Run every measurement and print the summary last."""
    summary: dict[str, Any] = {"benchmark": "drain", "latency_ms": int(LATENCY * 1000)}
    fake = RemoteFake(LATENCY)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            one, app, concurrency = one_worker_sqlite(fake, workdir)
            emit({"measure": "one_worker_sqlite", "letters": SQLITE_LETTERS, "per_second": one})
            plain = plain_loop(fake, app)
            emit({"measure": "plain_send_loop", "letters": PLAIN_LETTERS, "per_second": plain})
            summary.update(
                plain_loop_per_second=round(plain, 1),
                one_worker_sqlite_per_second=round(one, 1),
                worker_concurrency=concurrency,
                ratio=round(one / plain, 2),
            )
            url = os.environ.get("TEST_DATABASE_URL", "") or DEFAULT_POSTGRES
            problem = postgres_reachable(url) if url.startswith("postgresql") else "not PostgreSQL"
            if problem:
                summary["postgresql"] = {"skipped": problem}
                emit({"measure": "postgresql", "skipped": problem})
            else:
                rates: dict[str, float] = {}
                for count in (1, 2, 4):
                    rate = workers_postgres(fake, url, workdir, count)
                    rates[str(count)] = round(rate, 1)
                    emit(
                        {
                            "measure": "workers_postgresql",
                            "workers": count,
                            "letters": POSTGRES_LETTERS,
                            "per_second": rate,
                        }
                    )
                summary["postgresql_workers_per_second"] = rates
    finally:
        fake.stop()
    summary["sendgrid_requests"] = fake.request_count
    emit(summary)


if __name__ == "__main__":
    main()
