"""Letter submissions per second through gunicorn, against a trivial endpoint of the same server.

A submission exercises what a real one does: the signed CSRF token and Origin check, form
validation, the directory read, letter composition and the database write of the letter and
its confirmation email. Usage: `.venv/bin/python bench/submit.py [--seconds 2.5] [--rounds 6]`.
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import bench_env, cli, closed_loop, emit, gunicorn, temp_instance

CAMPAIGN = "stand-with-the-uyghurs"
CONSTITUENCY = "E14001063"  # Aldershot, in the shipped directory
POSTCODE = "GU11 1AA"


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    with temp_instance() as tmp:
        # The per-address limit stays on (its cost is part of a submission) but high enough
        # for one load generator.
        env = bench_env(Path(tmp), BASE_URL="http://127.0.0.1", RATE_LIMIT_SEND="10000000 per hour")
        cli(env, "db", "upgrade")
        cli(env, "seed")
        with gunicorn(env, workers=args.workers) as base:
            write_url = (
                f"{base}/campaigns/{CAMPAIGN}/write?letter=general&constituency={CONSTITUENCY}"
            )
            page = requests.get(write_url, timeout=10).text
            match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            if match is None:
                raise SystemExit("no CSRF token on the write page")
            token = match.group(1)
            send_url = f"{base}/campaigns/{CAMPAIGN}/send"

            # Every submission needs its own person: a person may have only a few letters
            # awaiting confirmation, and closed_loop numbers requests afresh in each round.
            people = itertools.count()

            def submit(http: requests.Session, _seq: int) -> bool:
                seq = next(people)
                form = {
                    "csrf_token": token,
                    "letter": "general",
                    "constituency": CONSTITUENCY,
                    "lookup_postcode": "",
                    "partner": "",
                    "name": f"Bench Writer {seq}",
                    "email": f"writer{seq}@example.org",
                    "address": "1 High Street\nAldershot",
                    "postcode": POSTCODE,
                    "personal_words": "My family has not heard from my uncle since 2017.",
                    "subject": "Your constituent on the persecution of the Uyghurs",
                    "body": "Dear Alex Baker,\n\nPlease act.\n\nYours sincerely,\nBench Writer",
                }
                response = http.post(send_url, data=form, allow_redirects=False, timeout=10)
                return response.status_code == 303

            def trivial(http: requests.Session, _seq: int) -> bool:
                return http.get(f"{base}/healthz", timeout=10).status_code == 200

            closed_loop(trivial, concurrency=args.concurrency, seconds=1)  # warm up
            closed_loop(submit, concurrency=args.concurrency, seconds=1)
            # Short alternating rounds: on a shared machine the background load drifts, and
            # each ratio compares two measurements taken seconds apart.
            rounds = []
            for _ in range(args.rounds):
                t = closed_loop(trivial, concurrency=args.concurrency, seconds=args.seconds)
                s = closed_loop(submit, concurrency=args.concurrency, seconds=args.seconds)
                rounds.append((t, s))
    trivial_rps = sum(t.per_second for t, _ in rounds) / len(rounds)
    submit_rps = sum(s.per_second for _, s in rounds) / len(rounds)
    errors = sum(s.errors + t.errors for t, s in rounds)
    emit(
        {
            "benchmark": "submit",
            "gunicorn_workers": args.workers,
            "concurrency": args.concurrency,
            "trivial_per_second": round(trivial_rps, 1),
            "submissions_per_second": round(submit_rps, 1),
            "errors": errors,
            "round_ratios": [round(s.per_second / t.per_second, 3) for t, s in rounds],
            "goal": 0.5,
            "ratio": round(submit_rps / trivial_rps, 3) if trivial_rps else 0.0,
        }
    )


if __name__ == "__main__":
    main()
