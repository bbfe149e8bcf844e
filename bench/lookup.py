"""Cached postcode lookups per second through gunicorn, against a trivial endpoint of that server.

Also times a cold lookup (one call to postcodes.io, then the database) and a full
`advocacy mps sync` of all 650 MPs. Both upstreams are the loopback fakes from tests/fakes, run
in this process, adding 50 ms of latency to every request. Usage:
`.venv/bin/python bench/lookup.py [--seconds 2.5] [--rounds 4] [--latency 0.05]`.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _harness import BIN, bench_env, cli, closed_loop, emit, gunicorn, temp_instance

from tests.fakes import MembersApiFake, PostcodesIoFake, contact_entry

HOT_POSTCODE = "SW1A1AA"  # recorded body: Cities of London and Westminster
# Postcodes looked up once each, cold, served by the fake with a plausible 2024 seat each.
COLD_POSTCODES = {
    "GU11 1AA": "E14001063",  # Aldershot
    "PE12 6AA": "E14001487",  # South Holland and The Deepings
    "SE11 5QY": "E14001559",  # Vauxhall and Camberwell Green
    "M1 1AE": "E14001352",  # Manchester Central
    "CF10 5AL": "W07000091",  # Cardiff South and Penarth
    "EH8 8DX": "S14000078",  # Edinburgh East and Musselburgh
    "BT7 1NN": "N05000003",  # Belfast South and Mid Down
    "LS1 4AP": "E14001319",  # Leeds Central and Headingley
}


def _mp_lookup(http: requests.Session, base: str, postcode: str) -> requests.Response:
    return http.get(f"{base}/api/mp", params={"postcode": postcode}, timeout=10)


def _drift(members: MembersApiFake) -> None:
    """Make the fake differ from the shipped snapshot a little, as Parliament's data does."""
    records = members.load_mp_csv()
    for record in records[:3]:
        members.set_contacts(
            record.member_id, [contact_entry(1, email=f"office.{record.member_id}@parliament.uk")]
        )


def _time_sync(env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(BIN / "advocacy"), "mps", "sync"], env=env, check=True, capture_output=True, text=True
    )
    return time.perf_counter() - started, done.stdout


def _time_startup(env: dict[str, str]) -> float:
    started = time.perf_counter()
    cli(env, "mps", "status")
    return time.perf_counter() - started


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.5)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()

    with (
        PostcodesIoFake(recorded=True) as postcodes,
        MembersApiFake() as members,
        temp_instance() as tmp,
    ):
        for postcode, code in COLD_POSTCODES.items():
            postcodes.add_postcode(postcode, constituency_code=code)
        _drift(members)
        postcodes.latency = members.latency = args.latency
        env = bench_env(
            Path(tmp),
            BASE_URL="http://127.0.0.1",
            POSTCODES_IO_URL=postcodes.url,
            MEMBERS_API_URL=members.url,
        )
        cli(env, "db", "upgrade")
        cli(env, "seed")
        startup_seconds = _time_startup(env)
        members.clear_requests()
        sync_seconds, sync_report = _time_sync(env)
        sync_requests = members.request_count

        with gunicorn(env, workers=args.workers) as base, requests.Session() as http:
            # Every worker builds its postcodes.io client on first use; do that before timing.
            for _ in range(4 * args.workers):
                _mp_lookup(http, base, HOT_POSTCODE).raise_for_status()
            postcodes.clear_requests()
            cold = []
            for postcode in COLD_POSTCODES:
                started = time.perf_counter()
                _mp_lookup(http, base, postcode).raise_for_status()
                cold.append(time.perf_counter() - started)
            cold_upstream_calls = postcodes.request_count

            postcodes.clear_requests()

            def lookup(session: requests.Session, _seq: int) -> bool:
                response = _mp_lookup(session, base, HOT_POSTCODE)
                return response.status_code == 200

            def trivial(session: requests.Session, _seq: int) -> bool:
                return session.get(f"{base}/healthz", timeout=10).status_code == 200

            closed_loop(trivial, concurrency=args.concurrency, seconds=1)  # warm up
            closed_loop(lookup, concurrency=args.concurrency, seconds=1)
            # Short alternating rounds: on a shared machine the background load drifts, and
            # alternating spreads that drift evenly over both endpoints.
            rounds = []
            for _ in range(args.rounds):
                t = closed_loop(trivial, concurrency=args.concurrency, seconds=args.seconds)
                c = closed_loop(lookup, concurrency=args.concurrency, seconds=args.seconds)
                rounds.append((t, c))
            hot_upstream_calls = postcodes.request_count

    trivial_rps = sum(t.per_second for t, _ in rounds) / len(rounds)
    lookup_rps = sum(c.per_second for _, c in rounds) / len(rounds)
    errors = sum(t.errors + c.errors for t, c in rounds)
    summary = [line for line in sync_report.splitlines() if line.startswith("New MPs:")]
    emit(
        {
            "benchmark": "lookup",
            "gunicorn_workers": args.workers,
            "concurrency": args.concurrency,
            "upstream_latency_ms": round(args.latency * 1000),
            "trivial_per_second": round(trivial_rps, 1),
            "cached_lookups_per_second": round(lookup_rps, 1),
            "cached_upstream_calls": hot_upstream_calls,
            "errors": errors,
            "cold_lookup_ms_median": round(statistics.median(cold) * 1000, 1),
            "cold_lookup_ms_max": round(max(cold) * 1000, 1),
            "cold_upstream_calls": cold_upstream_calls,
            "sync_seconds": round(sync_seconds, 2),
            "sync_seconds_without_cli_startup": round(sync_seconds - startup_seconds, 2),
            "sync_upstream_requests": sync_requests,
            "sync_summary": summary[0] if summary else "",
            "round_ratios": [round(c.per_second / t.per_second, 3) for t, c in rounds],
            "goal": 0.8,
            "ratio": round(lookup_rps / trivial_rps, 3) if trivial_rps else 0.0,
        }
    )


if __name__ == "__main__":
    main()
