"""The campaign dashboard over 1,000,000 letters, against the same over 1,000.

    .venv/bin/python bench/dashboard.py [--database sqlite|postgresql] [--large 1000000]
        [--small 1000] [--requests 200] [--export-rows 1000000]

Fills a database (built by migration) with letters across the 650 constituencies and five
campaigns, in the mix a running campaign has (mostly delivered, some awaiting confirmation,
held, bounced, expired), each confirmed one with its signature, spread over 90 days. The
letters are written with bulk inserts (COPY on PostgreSQL) and the counting triggers on, so
the counters are kept exactly as they are in production.

Then it serves the app with gunicorn, logs in as a viewer and drives the busiest
campaign's dashboard (figures, funnel, both charts, a breakdown and the hex map) with wrk,
first over 1,000 letters and then over 1,000,000, and prints each median latency. It also
streams the signatures export of that database and prints its rows per second and this
process's peak memory before and during the export. The last line is one JSON object whose
`ratio` is the 1,000,000-letter median over the 1,000-letter median (the goal: at most 2).

PostgreSQL: set BENCH_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/
bench_dashboard); the database is emptied and migrated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from urllib.parse import urlsplit  # noqa: E402

import requests  # noqa: E402
from sqlalchemy import Engine, create_engine, event, func, insert, inspect, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from advocacy.dashboard.counters import rebuild  # noqa: E402
from advocacy.db import make_engine  # noqa: E402
from advocacy.directory.snapshot import read_snapshot  # noqa: E402
from advocacy.migrate import upgrade  # noqa: E402
from advocacy.models import (  # noqa: E402
    Campaign,
    CampaignStatus,
    Letter,
    LetterState,
    MemberOfParliament,
    Partner,
    Signature,
    StaffSession,
    StaffUser,
    utcnow,
)
from advocacy.workspace.sessions import COOKIE_NAME, token_hash  # noqa: E402
from bench._harness import SERVERS, bench_env, find_wrk, gunicorn, wrk  # noqa: E402

CAMPAIGNS = 5
DAYS = 90
SOURCES = ("newsletter", "twitter", "event", "partner-page", "")
S = LetterState
# (state, weight, confirmed, sent)
MIX = (
    (S.DELIVERED, 62, True, True),
    (S.AWAITING_CONFIRMATION, 10, False, False),
    (S.QUEUED, 4, True, False),
    (S.SENT, 6, True, True),
    (S.HELD, 2, True, False),
    (S.BOUNCED, 4, True, True),
    (S.DROPPED, 1, True, True),
    (S.FAILED, 1, True, False),
    (S.EXPIRED, 10, False, False),
)
LETTER_COLUMNS = (
    "public_id",
    "idempotency_key",
    "campaign_id",
    "partner_id",
    "signature_id",
    "email_digest",
    "sender_name",
    "sender_email",
    "sender_address",
    "sender_postcode",
    "personal_text",
    "subject",
    "body_text",
    "recipient_name",
    "recipient_email",
    "recipient_member_id",
    "constituency_code",
    "constituency_name",
    "source",
    "state",
    "state_changed_at",
    "created_at",
    "awaiting_confirmation_at",
    "queued_at",
    "sent_at",
    "attempts",
    "is_possible_duplicate",
)
SIGNATURE_COLUMNS = (
    "id",
    "campaign_id",
    "email_digest",
    "constituency_code",
    "member_id",
    "partner_id",
    "created_at",
)


def emit(record: dict[str, Any]) -> None:
    """Print one measurement as a JSON line."""
    print(json.dumps(record), flush=True)


def reset(url: str) -> Engine:
    """An empty, migrated database at `url`."""
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            for table in inspect(conn).get_table_names():
                conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
        engine.dispose()
    else:
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(url)
    return make_engine(url)


def _setup(engine: Engine) -> tuple[list[int], list[int], list[MemberOfParliament]]:
    """Campaigns, partners and the 650 seats."""
    seats = [
        MemberOfParliament(
            constituency_code=row.constituency_code,
            constituency_name=row.constituency_name,
            member_id=row.member_id,
            name_display=row.name_display,
            name_full_title=row.name_full_title,
            party=row.party,
            email=row.email,
        )
        for row in read_snapshot()
    ]
    with engine.begin() as conn:
        conn.execute(insert(MemberOfParliament), [_columns(s) for s in seats])
        conn.execute(
            insert(Campaign),
            [
                {
                    "slug": f"campaign-{i}",
                    "title": f"Campaign {i}",
                    "summary": "A benchmark campaign.",
                    "why_it_matters": "",
                    "kind": "mp_letter",
                    "status": CampaignStatus.LIVE.value,
                    "sender_name": "Bench",
                    "goal": 500_000,
                    "created_at": utcnow(),
                    "updated_at": utcnow(),
                }
                for i in range(CAMPAIGNS)
            ],
        )
        conn.execute(
            insert(Partner),
            [
                {
                    "slug": f"partner-{i}",
                    "name": f"Partner {i}",
                    "website": "",
                    "is_active": True,
                    "created_at": utcnow(),
                }
                for i in range(3)
            ],
        )
        campaign_ids = list(conn.scalars(select(Campaign.id).order_by(Campaign.id)))
        partner_ids = list(conn.scalars(select(Partner.id).order_by(Partner.id)))
    return campaign_ids, partner_ids, seats


def _columns(seat: MemberOfParliament) -> dict[str, Any]:
    return {
        "constituency_code": seat.constituency_code,
        "constituency_name": seat.constituency_name,
        "member_id": seat.member_id,
        "name_display": seat.name_display,
        "name_full_title": seat.name_full_title,
        "party": seat.party,
        "email": seat.email,
        "postal_address": None,
        "source": "snapshot",
        "confirmed_at": utcnow(),
        "updated_at": utcnow(),
    }


def _generate(
    count: int,
    campaign_ids: list[int],
    partner_ids: list[int],
    seats: list[MemberOfParliament],
    rng: random.Random,
    *,
    mix: Sequence[tuple[LetterState, int, bool, bool]] = MIX,
    campaign_weights: Sequence[int] = (40, 15, 15, 15, 15),
    first_number: int = 0,
) -> Any:
    """(letter, signature or None) rows; the first campaign is the busiest (40%)."""
    now = utcnow()
    weights = [m[1] for m in mix]
    signature_id = first_number
    for n in range(first_number, first_number + count):
        state, _, confirmed, sent = rng.choices(mix, weights)[0]
        campaign_id = rng.choices(campaign_ids, campaign_weights)[0]
        seat = seats[n % len(seats)] if n < len(seats) else rng.choice(seats)
        created = now - timedelta(seconds=rng.uniform(0, DAYS * 86400))
        digest = uuid.uuid4().hex + uuid.uuid4().hex
        partner = rng.choice(partner_ids) if partner_ids and rng.random() < 0.3 else None
        signature = None
        if confirmed:
            signature_id += 1
            signature = (
                signature_id,
                campaign_id,
                digest,
                seat.constituency_code,
                seat.member_id,
                partner,
                created + timedelta(minutes=5),
            )
        letter = (
            uuid.uuid4().hex,
            uuid.uuid4().hex,
            campaign_id,
            partner,
            signature_id if confirmed else None,
            digest,
            "Bench Writer",
            f"writer{n}@example.org",
            "1 Bench Street\nLeeds",
            "LS1 4AP",
            "My own words about why this matters to me and my family.",
            "Please act",
            "Dear MP,\n\nPlease act.\n\nYours sincerely,\nBench Writer",
            seat.name_display or "",
            seat.email,
            seat.member_id,
            seat.constituency_code,
            seat.constituency_name,
            rng.choice(SOURCES),
            state.value,
            created + timedelta(hours=1),
            created,
            created,
            created + timedelta(minutes=5) if confirmed else None,
            created + timedelta(minutes=6) if sent else None,
            1 if sent else 0,
            False,
        )
        yield letter, signature


def _copy_postgres(engine: Engine, rows: Any, chunk: int) -> None:
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        letters_sql = f"COPY letters ({', '.join(LETTER_COLUMNS)}) FROM STDIN"
        signatures_sql = f"COPY signatures ({', '.join(SIGNATURE_COLUMNS)}) FROM STDIN"
        batch: list[Any] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                _copy_batch(cursor, signatures_sql, letters_sql, batch)
                raw.commit()
                batch = []
        if batch:
            _copy_batch(cursor, signatures_sql, letters_sql, batch)
        raw.commit()
        cursor.execute("SELECT setval('signatures_id_seq', (SELECT max(id) FROM signatures))")
        raw.commit()
    finally:
        raw.close()


def _copy_batch(cursor: Any, signatures_sql: str, letters_sql: str, batch: list[Any]) -> None:
    with cursor.copy(signatures_sql) as copy:
        for _, signature in batch:
            if signature is not None:
                copy.write_row(signature)
    with cursor.copy(letters_sql) as copy:
        for letter, _ in batch:
            copy.write_row(letter)


def _insert_sqlite(engine: Engine, rows: Any, chunk: int) -> None:
    letters, signatures = Letter.__table__, Signature.__table__
    batch: list[Any] = []

    def flush(conn: Any) -> None:
        sigs = [dict(zip(SIGNATURE_COLUMNS, s, strict=True)) for _, s in batch if s is not None]
        if sigs:
            conn.execute(insert(signatures), sigs)
        conn.execute(insert(letters), [dict(zip(LETTER_COLUMNS, r, strict=True)) for r, _ in batch])

    for row in rows:
        batch.append(row)
        if len(batch) >= chunk:
            with engine.begin() as conn:
                flush(conn)
            batch = []
    if batch:
        with engine.begin() as conn:
            flush(conn)


class _TriggersOff:
    """Counting triggers off for a bulk load (the documented path: load, then rebuild)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.saved: list[str] = []

    def __enter__(self) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                for table in ("letters", "signatures"):
                    conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
                return
            rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))
            for name, sql in rows.all():
                self.saved.append(sql)
                conn.execute(text(f"DROP TRIGGER {name}"))

    def __exit__(self, *_exc: object) -> None:
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                for table in ("letters", "signatures"):
                    conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))
            for sql in self.saved:
                conn.execute(text(sql))


def _load(engine: Engine, rows: Any) -> None:
    if engine.dialect.name == "postgresql":
        _copy_postgres(engine, rows, 20_000)
    else:
        _insert_sqlite(engine, rows, 20_000)


def fill(url: str, count: int, *, bulk: bool) -> dict[str, Any]:
    """Build the database with `count` letters; return what was built and how long it took.

    `bulk` loads with the counting triggers off and then rebuilds the counters from the
    letters in one pass (`advocacy figures rebuild`): the same figures, found equal by the
    tests, in a fraction of the time. Otherwise every row goes through the triggers.
    """
    engine = reset(url)
    if engine.dialect.name == "sqlite":
        # A loader's cache, so random keys do not thrash the indexes; not the app's setting.
        event.listen(engine, "connect", _big_cache)
    campaign_ids, partner_ids, seats = _setup(engine)
    rows = _generate(count, campaign_ids, partner_ids, seats, random.Random(count))
    started = time.perf_counter()
    if bulk:
        with _TriggersOff(engine):
            _load(engine, rows)
        loaded = time.perf_counter()
        with Session(engine) as session, session.begin():
            rebuild(session)
    else:
        _load(engine, rows)
        loaded = time.perf_counter()
    finished = time.perf_counter()
    with engine.connect() as conn:
        letters = conn.scalar(select(func.count()).select_from(Letter))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {
        "letters": letters,
        "fill": "bulk load, then figures rebuild" if bulk else "inserts through the triggers",
        "load_seconds": round(loaded - started, 1),
        "rebuild_seconds": round(finished - loaded, 1) if bulk else None,
    }


def top_up(url: str, slug: str, signatures: int) -> dict[str, Any]:
    """Add delivered letters to one campaign until it has `signatures` signatures.

    The export is measured over a million rows; the mixed fill gives the busiest campaign
    about a third of that, so it is topped up (after the dashboard was measured).
    """
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _big_cache)
    with engine.connect() as conn:
        campaign_id = conn.scalar(select(Campaign.id).where(Campaign.slug == slug))
        have = conn.scalar(
            select(func.count()).select_from(Signature).where(Signature.campaign_id == campaign_id)
        )
        last = conn.scalar(select(func.max(Signature.id))) or 0
        seats = [
            MemberOfParliament(**dict(row._mapping))
            for row in conn.execute(select(*MemberOfParliament.__table__.columns))
        ]
    missing = max(0, signatures - int(have or 0))
    started = time.perf_counter()
    rows = _generate(
        missing,
        [campaign_id],
        [],
        seats,
        random.Random(signatures),
        mix=((LetterState.DELIVERED, 1, True, True),),
        campaign_weights=(1,),
        first_number=int(last),
    )
    with _TriggersOff(engine):
        _load(engine, rows)
    with Session(engine) as session, session.begin():
        rebuild(session)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return {"topped_up_letters": missing, "top_up_seconds": round(time.perf_counter() - started, 1)}


def _big_cache(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA cache_size=-262144")
    cursor.close()


def log_in_viewer(url: str) -> str:
    """A viewer's workspace session, made directly in the database; returns its cookie."""
    engine = make_engine(url)
    token = secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        email = f"viewer-{secrets.token_hex(4)}@bench.example"
        user = StaffUser(email=email, name="Bench viewer", role="viewer")
        session.add(user)
        session.flush()
        session.add(
            StaffSession(token_hash=token_hash(token), user_id=user.id, csrf_token="x" * 32)
        )
    engine.dispose()
    return f"{COOKIE_NAME}={token}"


GET_WITH_COOKIE = """
local get_headers = %(headers)s
local get_path = %(path)s
function request()
  return wrk.format("GET", get_path, get_headers)
end
"""


def _lua_get(url: str, cookie: str) -> str:
    split = urlsplit(url)
    path = split.path + (f"?{split.query}" if split.query else "")
    return GET_WITH_COOKIE % {
        "headers": "{[" + json.dumps("Cookie") + "] = " + json.dumps(cookie) + "}",
        "path": json.dumps(path),
    }


def render_rounds(
    generator: Any, servers: dict[str, tuple[str, str]], rounds: int, seconds: int
) -> dict[str, list[float]]:
    """Median latency of one connection to each dashboard, alternating short rounds.

    One connection at a time, so a request's latency is the server's time to render the
    page; alternating rounds spread the shared machine's drift over both databases.
    """
    medians: dict[str, list[float]] = {name: [] for name in servers}
    for url, cookie in servers.values():
        # The first page of a process loads the map layout and the seats: not a render.
        requests.get(url, headers={"Cookie": cookie}, timeout=300).raise_for_status()
    for round_number in range(rounds + 1):
        for name, (url, cookie) in servers.items():
            result = wrk(
                generator,
                url,
                seconds=seconds if round_number else 1,
                connections=1,
                threads=1,
                request_lua=_lua_get(url, cookie),
            )
            if result.errors:
                raise RuntimeError(f"{name}: {result.errors} failed requests")
            if not result.requests:
                raise RuntimeError(f"{name}: no response within {seconds} s")
            if round_number:  # round 0 warms up
                medians[name].append(result.latency_ms["p50"])
    return medians


def _python_rounds(
    servers: dict[str, tuple[str, str]], requests_each: int
) -> dict[str, list[float]]:
    """The fallback without wrk: sequential requests, each timed."""
    times: dict[str, list[float]] = {name: [] for name in servers}
    with requests.Session() as http:
        for _ in range(requests_each):
            for name, (url, cookie) in servers.items():
                started = time.perf_counter()
                response = http.get(url, headers={"Cookie": cookie}, timeout=60)
                response.raise_for_status()
                times[name].append(1000 * (time.perf_counter() - started))
    return times


def _worker_pid(master: int) -> int:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            return int(stat.parent.name)
    raise RuntimeError("no gunicorn worker found")


def _rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def export_run(base: str, slug: str, cookie: str) -> dict[str, Any]:
    """Stream the signatures export; rows/s and the serving process's memory."""
    worker = _worker_pid(SERVERS[base])
    before = _rss_kib(worker)
    peak_before = _rss_kib(worker, "VmHWM")
    peak = {"rss": before}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], _rss_kib(worker))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    rows = 0
    started = time.perf_counter()
    try:
        with requests.get(
            f"{base}/workspace/campaigns/{slug}/exports/signatures.csv",
            headers={"Cookie": cookie},
            stream=True,
            timeout=600,
        ) as response:
            response.raise_for_status()
            for chunk in response.iter_content(chunk_size=1 << 16):
                rows += chunk.count(b"\n")
    finally:
        stop.set()
        sampler.join()
    seconds = time.perf_counter() - started
    peak_after = _rss_kib(worker, "VmHWM")
    rows -= 1  # the header
    return {
        "export_rows": rows,
        "export_seconds": round(seconds, 2),
        "export_rows_per_second": round(rows / seconds, 0) if seconds else 0,
        "server_rss_mib_before": round(before / 1024, 1),
        "server_peak_rss_mib_before": round(peak_before / 1024, 1),
        "server_rss_mib_peak_during": round(peak["rss"] / 1024, 1),
        "server_peak_rss_mib_after": round(peak_after / 1024, 1),
    }


def _postgres_urls(base: str) -> tuple[str, str]:
    url = make_url(base)
    names = (f"{url.database}_1k", f"{url.database}_1m")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if exists is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    small, large = (url.set(database=n).render_as_string(hide_password=False) for n in names)
    return small, large


def _letters_in(url: str) -> int | None:
    """Letters in an existing database built by this benchmark, or None."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(Letter)) or 0)
    except Exception:
        return None
    finally:
        engine.dispose()


def main() -> None:
    """Fill both databases, serve both, measure the dashboard and the export."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--bulk", choices=("large", "both", "none"), default="large")
    parser.add_argument("--port-base", type=int, default=18500)
    parser.add_argument("--export-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="PostgreSQL: keep databases already filled with the same sizes by an earlier run",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        instance = Path(tmp)
        if args.database == "postgresql":
            small_url, large_url = _postgres_urls(
                os.environ.get(
                    "BENCH_POSTGRES_URL",
                    "postgresql+psycopg://postgres@127.0.0.1:5432/bench_dashboard",
                )
            )
        else:
            small_url = f"sqlite:///{instance / 'small.db'}"
            large_url = f"sqlite:///{instance / 'large.db'}"
        sizes = {"small": (small_url, args.small), "large": (large_url, args.large)}
        servers: dict[str, tuple[str, str]] = {}
        for name, (url, count) in sizes.items():
            if args.reuse and _letters_in(url) == count:
                emit({"reusing": name, "database": args.database, "letters": count})
                continue
            bulk = args.bulk == "both" or (args.bulk == "large" and name == "large")
            emit({"filling": name, "database": args.database, **fill(url, count, bulk=bulk)})
        generator = find_wrk()
        cookies = {name: log_in_viewer(url) for name, (url, _) in sizes.items()}
        with ExitStack() as stack:
            bases = {}
            for offset, (name, (url, _)) in enumerate(sizes.items()):
                env = bench_env(instance / name, DATABASE_URL=url)
                bases[name] = stack.enter_context(
                    gunicorn(env, workers=1, port=args.port_base + offset)
                )
                page = f"{bases[name]}/workspace/campaigns/campaign-0/dashboard"
                servers[name] = (page, cookies[name])
            if generator.is_wrk:
                medians = render_rounds(generator, servers, args.rounds, args.seconds)
            else:
                medians = _python_rounds(servers, 20 * args.rounds)
            small_ms = statistics.median(medians["small"])
            large_ms = statistics.median(medians["large"])
            emit(
                {
                    "dashboard_median_ms": {
                        "small": round(small_ms, 2),
                        "large": round(large_ms, 2),
                    },
                    "round_medians_ms": {k: [round(v, 2) for v in vs] for k, vs in medians.items()},
                    **generator.describe(),
                }
            )
        emit(
            {
                "export_campaign": "campaign-0",
                **top_up(large_url, "campaign-0", args.export_rows),
            }
        )
        # Threaded workers, as production should run for exports: a sync worker that spends
        # longer than gunicorn's timeout (30 s) on one request is killed mid-download.
        export_env = bench_env(
            instance / "export", DATABASE_URL=large_url, GUNICORN_CMD_ARGS="--threads 4"
        )
        with gunicorn(
            export_env,
            workers=1,
            port=args.port_base + 2,
        ) as base:
            export = export_run(base, "campaign-0", cookies["large"])
            emit({"export": "signatures.csv of campaign-0 (the busiest)", **export})
        emit(
            {
                "benchmark": "dashboard",
                "database": args.database,
                "letters": {"small": args.small, "large": args.large},
                "small_ms": round(small_ms, 2),
                "large_ms": round(large_ms, 2),
                "export_rows_per_second": export["export_rows_per_second"],
                "ratio": round(large_ms / small_ms, 3),
                "goal": 2,
            }
        )


if __name__ == "__main__":
    main()
