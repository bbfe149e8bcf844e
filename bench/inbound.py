"""Inbound Parse posts per second under gunicorn and wrk, against a trivial endpoint.

SendGrid posts each copy of an MP's reply as multipart/form-data. The benchmark seeds
letters that were sent, then posts at least 2,000 Inbound Parse requests built from
SendGrid's own sample (tests/fixtures/contracts/sendgrid/inbound_parse/default_data.txt),
each replying to one of the letters' signed reply addresses with a Message-ID of its own, so
every post is a new reply that the handler must verify, parse and record. Short rounds of
the trivial endpoint (`/healthz`) and of the posts alternate (at least `--rounds`, more
until 2,000 posts were made); the ratio compares their mean rates. It also checks that
every accepted post was recorded exactly once.

Usage: `.venv/bin/python bench/inbound.py [--requests 2000] [--rounds 4] [--seconds 3]`.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._harness import (  # noqa: E402
    LoadGenerator,
    LoadResult,
    _lua_string,
    bench_env,
    cli,
    emit,
    find_wrk,
    gunicorn,
    mean_rate,
    server_cpu_seconds,
    temp_instance,
    wrk,
)

GOAL = 0.5
SECRET = "bench-inbound-secret-0123456789"  # noqa: S105 - a throwaway benchmark value
DOMAIN = "replies.bench.example"
LETTERS = 50

# The request bodies (none, for a GET) rotate; `{who}` in each is unique per request.
LUA = r"""
local bodies = %(bodies)s
local post_headers = %(headers)s
local target_path = %(path)s

function request()
  sequence = sequence + 1
  if #bodies == 0 then
    return wrk.format("GET", target_path)
  end
  local who = run_tag .. "x" .. thread_id .. "x" .. sequence
  local parts = bodies[(sequence %% #bodies) + 1]
  return wrk.format("POST", target_path, post_headers, table.concat(parts, who))
end
"""


def seed(env: dict[str, str]) -> list[str]:
    """Letters that were sent, each with its reply address; returns the addresses."""
    from advocacy import create_app
    from advocacy.config import Settings
    from advocacy.extensions import db
    from advocacy.models import Campaign, Letter, LetterState, utcnow
    from advocacy.responses.tokens import reply_address

    app = create_app(Settings.from_env(env))
    addresses = []
    with app.app_context(), db.transaction() as session:
        campaign = Campaign(slug="bench", title="Bench", summary="", sender_name="Bench")
        session.add(campaign)
        session.flush()
        sent = utcnow() - timedelta(days=3)
        for i in range(LETTERS):
            letter = Letter(
                campaign_id=campaign.id,
                email_digest=f"{i:064d}",
                sender_name="A Writer",
                sender_email=f"writer{i}@example.org",
                sender_address="1 Street",
                sender_postcode="LS1 4AP",
                personal_text="words",
                subject="subject",
                body_text="body",
                recipient_name="Jo Bloggs MP",
                recipient_email="jo.bloggs.mp@parliament.uk",
                recipient_member_id=4001,
                state=LetterState.DELIVERED,
                sent_at=sent,
                delivered_at=sent,
            )
            session.add(letter)
            addresses.append(reply_address(letter.public_id, env["SECRET_KEY"], DOMAIN))
    db.dispose()
    return addresses


def lua(path: str, addresses: list[str] | None) -> str:
    """The wrk script for one target: a POST per reply address in turn, or a plain GET."""
    from tests.fakes.sendgrid import INBOUND_CONTENT_TYPE, inbound_parse_body

    tables = []
    for address in addresses or []:
        body = inbound_parse_body(
            ["A Writer <writer@example.org>", address], message_id="<{who}@mail.parliament.uk>"
        ).decode("utf-8")
        tables.append("{" + ", ".join(_lua_string(part) for part in body.split("{who}")) + "}")
    headers = "{[" + _lua_string("Content-Type") + "] = " + _lua_string(INBOUND_CONTENT_TYPE) + "}"
    return LUA % {
        "bodies": "{" + ", ".join(tables) + "}",
        "headers": headers,
        "path": _lua_string(path),
    }


def run(
    generator: LoadGenerator, url: str, script: str, load: tuple[int, int], tag: str
) -> LoadResult:
    """One round of `load` (seconds, connections), with the server's CPU time."""
    before = server_cpu_seconds(url)
    seconds, connections = load
    result = wrk(
        generator,
        url,
        seconds=seconds,
        connections=connections,
        threads=1,
        request_lua=script,
        tag=tag,
    )
    after = server_cpu_seconds(url)
    if before is not None and after is not None:
        result.server_cpu_seconds = after - before
    return result


def summarise(results: list[LoadResult]) -> dict[str, Any]:
    """Rates, errors and server CPU per request of a target's rounds."""
    served = sum(r.requests + r.errors for r in results)
    cpu = [r.server_cpu_seconds for r in results if r.server_cpu_seconds is not None]
    summary: dict[str, Any] = {
        "per_second": round(mean_rate(results), 1),
        "round_per_second": [round(r.per_second, 1) for r in results],
        "requests": sum(r.requests for r in results),
        "errors": sum(r.errors for r in results),
        "latency_p50_ms": sorted(r.latency_ms.get("p50", 0.0) for r in results)[len(results) // 2],
    }
    if cpu and served and len(cpu) == len(results):
        summary["server_cpu_ms_per_request"] = round(1000 * sum(cpu) / served, 3)
    return summary


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000, help="Inbound Parse posts at least")
    parser.add_argument("--rounds", type=int, default=4, help="rounds at least")
    parser.add_argument("--seconds", type=int, default=3, help="seconds per round")
    parser.add_argument("--port", type=int, default=18610)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    generator = find_wrk()
    if not generator.is_wrk:
        emit({"benchmark": "inbound", **generator.describe(), "ratio": 0.0, "error": "no wrk"})
        return
    load = (args.seconds, args.connections)
    with temp_instance() as tmp:
        instance = Path(tmp)
        env = bench_env(
            instance,
            REPLY_DOMAIN=DOMAIN,
            INBOUND_PARSE_SECRET=SECRET,
            BASE_URL="http://127.0.0.1",
        )
        cli(env, "db", "upgrade")
        addresses = seed(env)
        with gunicorn(env, workers=args.workers, port=args.port) as base:
            path = f"/webhooks/sendgrid/inbound/{SECRET}"
            inbound_url, trivial_url = base + path, f"{base}/healthz"
            inbound_lua, trivial_lua = lua(path, addresses), lua("/healthz", None)
            # Warm-up, then alternate so that drift in the machine's load hits both alike.
            run(generator, trivial_url, trivial_lua, (1, args.connections), "w")
            warm = run(generator, inbound_url, inbound_lua, (1, args.connections), "w")
            trivial: list[LoadResult] = []
            inbound: list[LoadResult] = []
            while len(inbound) < args.rounds or (
                sum(r.requests for r in inbound) < args.requests and len(inbound) < 20
            ):
                tag = f"r{len(inbound)}"
                trivial.append(run(generator, trivial_url, trivial_lua, load, tag))
                inbound.append(run(generator, inbound_url, inbound_lua, load, tag))
        with sqlite3.connect(instance / "bench.db") as conn:
            recorded = conn.execute("SELECT count(*) FROM letter_replies").fetchone()[0]
    posted = warm.requests + sum(r.requests for r in inbound)
    base_rate = mean_rate(trivial)
    per_round_ratios = [
        round(i.per_second / t.per_second, 3) if t.per_second else 0.0
        for i, t in zip(inbound, trivial, strict=True)
    ]
    emit(
        {
            "benchmark": "inbound",
            **generator.describe(),
            "gunicorn_workers": args.workers,
            "connections": args.connections,
            "rounds": len(inbound),
            "seconds_per_round": args.seconds,
            "endpoints": {"trivial": summarise(trivial), "inbound": summarise(inbound)},
            "inbound_posts_accepted": posted,
            "replies_recorded": recorded,
            # wrk stops counting at its deadline while the posts then in flight still finish
            # on the server: at most one per connection and round is recorded uncounted.
            "every_post_recorded_once": posted
            <= recorded
            <= posted + args.connections * (len(inbound) + 1),
            "round_ratios": per_round_ratios,
            "goal": GOAL,
            "ratio": round(mean_rate(inbound) / base_rate, 3) if base_rate else 0.0,
        }
    )


if __name__ == "__main__":
    main()
