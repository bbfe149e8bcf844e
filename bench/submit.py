"""Letter submissions and count.json per second under wrk, against a trivial endpoint.

A submission does what a real one does: the signed form token and Origin check, form
validation, the directory read, letter composition, the per-address limit, the check for
letters already awaiting confirmation and the database write of the letter and its
confirmation email. Every submission is a different person (wrk's Lua script makes each
email address unique). The form is the one the journey serves: the benchmark walks the write
and preview pages first, as a browser does, and posts what the preview page holds.

In the same run, and with the same gunicorn settings, a minimal Flask form app (bench/
peer_app.py: one field check, one SQLite insert, a 303) is measured against its own trivial
endpoint: its ratio is what a form costs when it does nothing else. The same peer also posts
the send form to `/letter`, which does a submission's database work and nothing else (the
pending count and both INSERTs, on a migrated and seeded copy of the app's schema, through
plain sqlite3): its ratio, `floor_ratio`, is the most a submission that saves a letter here
could reach, with no form handling at all.

Usage: `.venv/bin/python bench/submit.py [--seconds 3] [--rounds 5] [--connections 8]`.
"""

from __future__ import annotations

import argparse
import html
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import (
    Load,
    Target,
    alternate,
    bench_env,
    cli,
    emit,
    find_wrk,
    free_port,
    gunicorn,
    page_form,
    rates,
    ratio_summary,
    temp_instance,
)

from tests.fakes import PostcodesIoFake

CAMPAIGN = "stand-with-the-uyghurs"
CONSTITUENCY = "E14001063"  # Aldershot, in the shipped directory
POSTCODE = "GU11 1AA"
SUBMIT_GOAL = 0.30
COUNT_GOAL = 0.9

PERSON = {
    "name": "Bench Writer {who}",
    "email": "writer{who}@example.org",
    "address": "1 High Street\nAldershot",
    "postcode": POSTCODE,
    "personal_words": "My family has not heard from my uncle since 2017.",
}


def journey_form(base: str, origin: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Walk the journey as a browser does; return the send URL and the form the preview holds.

    The postcode look-up page issues the signed recipient token; its "Write this letter"
    link carries it to the write page, whose form carries it to the preview page.
    """
    headers = {"Origin": origin}
    with requests.Session() as http:
        mp_url = f"{base}/campaigns/{CAMPAIGN}/mp?postcode={POSTCODE.replace(' ', '+')}"
        mp_page = http.get(mp_url, timeout=10)
        mp_page.raise_for_status()
        link = re.search(r'href="([^"]*/write\?[^"]*letter=general[^"]*)"', mp_page.text)
        if link is None:
            raise SystemExit("the MP page has no link to the write page")
        write_url = urljoin(mp_url, html.unescape(link.group(1)))
        page = http.get(write_url, timeout=10)
        page.raise_for_status()
        preview_url, fields = page_form(write_url, page.text, "/preview")
        filled = dict(fields)
        filled.update({k: v.replace("{who}", "preview") for k, v in PERSON.items()})
        preview = http.post(preview_url, data=filled, headers=headers, timeout=10)
        if preview.status_code != 200:
            raise SystemExit(f"the preview page answered {preview.status_code}")
        send_url, sent_fields = page_form(preview_url, preview.text, "/send")
    form = [(k, PERSON[k] if k in {"name", "email"} else v) for k, v in sent_fields]
    return send_url, tuple(form)


def _saved_rows(database: Path) -> dict[str, int]:
    """How many letters and confirmation emails the run saved (both inserts, every time)."""
    with sqlite3.connect(database) as connection:
        letters = connection.execute("SELECT count(*) FROM letters").fetchone()[0]
        emails = connection.execute("SELECT count(*) FROM notifications").fetchone()[0]
    return {"letters_saved": letters, "confirmation_emails_saved": emails}


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    generator = find_wrk()
    load = Load(generator, args.seconds, args.connections, args.threads)

    with (
        temp_instance() as tmp,
        temp_instance() as peer_tmp,
        PostcodesIoFake(recorded=True) as postcodes,
    ):
        # The look-up that starts the journey asks a loopback postcodes.io, once.
        postcodes.add_postcode(POSTCODE, constituency_code=CONSTITUENCY)
        port = free_port()
        origin = f"http://127.0.0.1:{port}"
        # The per-address limits stay on (their cost is part of a submission) but high
        # enough for one load generator.
        env = bench_env(
            Path(tmp),
            BASE_URL=origin,
            POSTCODES_IO_URL=postcodes.url,
            RATE_LIMIT_SEND="100000000 per hour",
            RATE_LIMIT_LOOKUP="100000000 per minute",
        )
        cli(env, "db", "upgrade")
        cli(env, "seed")
        peer_env = bench_env(
            Path(peer_tmp),
            PEER_DATABASE=str(Path(peer_tmp) / "peer.db"),
            PEER_LETTERS_DATABASE=str(Path(peer_tmp) / "bench.db"),
        )
        # The floor's letters go into the app's own schema, with its counting triggers.
        cli(peer_env, "db", "upgrade")
        cli(peer_env, "seed")
        bench_dir = Path(__file__).resolve().parent
        with (
            gunicorn(env, workers=args.workers, port=port) as base,
            gunicorn(peer_env, workers=args.workers, app="peer_app:app", cwd=bench_dir) as peer,
        ):
            send_url, form = journey_form(base, origin)
            targets = [
                Target("trivial", f"{base}/healthz"),
                Target("submit", send_url, 303, form, headers=(("Origin", origin),)),
                Target("count", f"{base}/campaigns/{CAMPAIGN}/count.json"),
                Target("peer_trivial", f"{peer}/healthz"),
                Target(
                    "peer_submit",
                    f"{peer}/sign",
                    303,
                    (("email", "writer{who}@example.org"),),
                ),
                Target("floor_submit", f"{peer}/letter", 303, form),
            ]
            results = alternate(load, targets, args.rounds)
        saved = _saved_rows(Path(tmp) / "bench.db")
        floor_saved = _saved_rows(Path(peer_tmp) / "bench.db")

    # Every 303 (warm-up included) must have saved a letter and its confirmation email.
    accepted = sum(r.requests for r in results["submit"])
    submit = ratio_summary(results, "submit", "trivial")
    count = ratio_summary(results, "count", "trivial")
    peer_summary = ratio_summary(results, "peer_submit", "peer_trivial")
    floor = ratio_summary(results, "floor_submit", "peer_trivial")
    floor_accepted = sum(r.requests for r in results["floor_submit"])
    summary: dict[str, Any] = {
        "benchmark": "submit",
        **generator.describe(),
        "gunicorn_workers": args.workers,
        "connections": args.connections,
        "wrk_threads": args.threads if generator.is_wrk else None,
        "seconds_per_round": args.seconds,
        "rounds": args.rounds,
        "endpoints": rates(results),
        "submissions_accepted": accepted,
        **saved,
        # wrk stops counting at its deadline, and the requests then in flight still finish
        # on the server: at most one per connection and run is saved without being counted.
        "every_submission_saved": accepted <= saved["letters_saved"]
        and saved["letters_saved"] == saved["confirmation_emails_saved"],
        "count_ratio": count["ratio"],
        "count_round_ratios": count["round_ratios"],
        "count_goal": COUNT_GOAL,
        "peer_ratio": peer_summary["ratio"],
        "peer_round_ratios": peer_summary["round_ratios"],
        # The database work alone, in the peer: the ceiling for the submission's ratio.
        "floor_ratio": floor["ratio"],
        "floor_round_ratios": floor["round_ratios"],
        "floor_every_letter_saved": floor_accepted <= floor_saved["letters_saved"]
        and floor_saved["letters_saved"] == floor_saved["confirmation_emails_saved"],
        "round_ratios": submit["round_ratios"],
        "round_ratio_spread": submit["round_ratio_spread"],
        "goal": SUBMIT_GOAL,
        "ratio": submit["ratio"],
    }
    emit(summary)


if __name__ == "__main__":
    main()
