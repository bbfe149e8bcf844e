"""Documents at scale: 1,000 printed letters as one batch, and petition bundles of 10,000 and
100,000 signatures.

    .venv/bin/python bench/pdf.py [--letters 1000] [--small 10000] [--large 100000]

Builds a temporary SQLite database by migration with two petitions (one of each size), their
signatures and signers inserted in bulk: names mostly Latin, one in twenty Chinese and one in
twenty Uyghur (Arabic script), from 40 countries, a fifth of them in UK constituencies. Each
job then runs in a fresh process, so its peak memory is its own: the printed letters are
laid out with WeasyPrint a chunk at a time and joined with pypdf; each bundle's PDF (fpdf2)
and CSV are built from the database in one streamed pass each, as the worker builds them.

Printed: per job, seconds, peak resident memory (and the memory once everything is imported,
before the work), pages and bytes; last, one JSON object whose `ratio` is the 100,000-signature
bundle's peak memory over the 10,000-signature bundle's (the goal is at most 1.5).
"""

from __future__ import annotations

import argparse
import io
import json
import random
import resource
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from advocacy.db import make_engine  # noqa: E402
from advocacy.migrate import upgrade  # noqa: E402
from advocacy.models import (  # noqa: E402
    Campaign,
    CampaignKind,
    Letter,
    LetterState,
    LetterTemplate,
    MemberOfParliament,
    Signature,
    utcnow,
)
from bench._harness import emit, temp_instance  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 (a throwaway key for temporary databases)
GOAL = 1.5
LATIN_GIVEN = [
    "Ayesha",
    "Mary",
    "John",
    "José",
    "Łukasz",
    "Fatima",
    "Chen",
    "Olga",
    "Kwame",
    "Noor",
]
LATIN_FAMILY = [
    "Khan",
    "Smith",
    "O'Neil",
    "Müller",
    "García",
    "Nowak",
    "Okafor",
    "Haddad",
    "Tanaka",
]
CJK = ["王小明", "李华", "张伟", "刘洋", "陈静"]
UYGHUR = ["ئەركىن تۇنىياز", "گۈلنار تۇرسۇن", "ئابدۇرېھىم", "مەمەت ئىمىن"]
COUNTRIES = [
    "GB", "US", "CA", "FR", "DE", "NL", "SE", "TR", "KZ", "AU", "JP", "TW", "NO", "FI", "DK",
    "BE", "IE", "ES", "IT", "PT", "PL", "CZ", "AT", "CH", "NZ", "KR", "MY", "ID", "SA", "AE",
    "EG", "MA", "ZA", "NG", "KE", "BR", "AR", "MX", "IN", "PK",
]  # fmt: skip
LETTER = (
    "Dear {{ recipients }},\n\nI therefore urge you to:\n\n"
    "• Immediately release all those detained."
)


def _name(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return rng.choice(CJK)
    if roll < 0.10:
        return rng.choice(UYGHUR)
    return f"{rng.choice(LATIN_GIVEN)} {rng.choice(LATIN_FAMILY)}"


def build_database(url: str, sizes: list[int]) -> dict[int, int]:
    """Migrate, then insert one petition per size with its signatures; return their ids."""
    upgrade(url)
    engine = make_engine(url)
    rng = random.Random(13)
    campaigns: dict[int, int] = {}
    now = utcnow() - timedelta(hours=1)
    with Session(engine) as session:
        seats = [
            MemberOfParliament(
                constituency_code=f"E14{i:06d}",
                constituency_name=f"Constituency {i}",
                source="bench",
            )
            for i in range(650)
        ]
        session.add_all(seats)
        session.commit()
        for size in sizes:
            campaign = Campaign(
                slug=f"petition-{size}",
                kind=CampaignKind.PETITION,
                title=f"A petition of {size:,}",
                summary="Bench.",
                sender_name="Bench",
            )
            session.add(campaign)
            session.flush()
            session.add(
                LetterTemplate(
                    campaign_id=campaign.id,
                    slug="letter",
                    title="Letter",
                    subject_template="Release them",
                    body_template=LETTER,
                )
            )
            from advocacy.kinds import targets

            targets.add_target(session, campaign, name="Xi Jinping 习近平", email="xi@gov.example")
            session.commit()
            campaigns[size] = campaign.id
            for start in range(0, size, 5000):
                rows = range(start, min(size, start + 5000))
                sigs = []
                for i in rows:
                    country = rng.choice(COUNTRIES)
                    seat = f"E14{rng.randrange(650):06d}" if country == "GB" else None
                    sigs.append(
                        {
                            "campaign_id": campaign.id,
                            "email_digest": f"{size}-{i}",
                            "country_code": country,
                            "constituency_code": seat,
                            "created_at": now,
                        }
                    )
                ids = (
                    session.execute(insert(Signature).returning(Signature.id), sigs).scalars().all()
                )
                session.execute(
                    insert(Letter),
                    [
                        {
                            "public_id": f"p{size}-{i}",
                            "idempotency_key": f"k{size}-{i}",
                            "campaign_id": campaign.id,
                            "signature_id": sig_id,
                            "email_digest": f"{size}-{i}",
                            "sender_name": _name(rng),
                            "sender_email": f"s{i}@example.org",
                            "sender_address": "",
                            "sender_postcode": "",
                            "personal_text": "",
                            "subject": "Release them",
                            "body_text": "",
                            "recipient_name": "Xi Jinping",
                            "state": LetterState.RECORDED.value,
                            "state_changed_at": now,
                            "created_at": now,
                            "attempts": 0,
                            "is_possible_duplicate": False,
                        }
                        for i, sig_id in zip(rows, ids, strict=True)
                    ],
                )
                session.commit()
    engine.dispose()
    return campaigns


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def child_bundle(url: str, campaign_id: int) -> dict[str, Any]:
    """Make one bundle of every signature and build its PDF and CSV; measure."""
    from advocacy.kinds import bundles

    engine = make_engine(url)
    with Session(engine) as session:
        campaign = session.get_one(Campaign, campaign_id)
        [bundle] = bundles.make_bundles(session, campaign, settle=timedelta(0))
        session.commit()
        before = _rss_mb()
        started = time.perf_counter()
        files = bundles.build_files(session, bundle)
        seconds = time.perf_counter() - started
    return {
        "signatures": bundle.signature_count,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_mb": round(before, 1),
        "pdf_pages": _pages(files.pdf),
        "pdf_bytes": len(files.pdf),
        "csv_bytes": len(files.csv),
    }


def child_letters(url: str, count: int, instance: str) -> dict[str, Any]:
    """Lay out `count` printed letters as one batch PDF; measure."""
    from advocacy import create_app
    from advocacy.config import Settings
    from advocacy.kinds.printed import Paper, PrintedLetter, batch_pdf

    settings = Settings.from_env(
        {"DATABASE_URL": url, "SECRET_KEY": SECRET, "INSTANCE_PATH": instance}
    )
    app = create_app(settings)
    rng = random.Random(7)
    letters = (
        PrintedLetter(
            recipient_name="Ilham Tohti ئىلھام توختى 伊力哈木·土赫提",
            recipient_address="乌鲁木齐市第一监狱\nئۈرۈمچى شەھىرى تۈرمىسى\nÜrümqi, Xinjiang, China",
            sender_name=_name(rng),
            sender_country="United Kingdom",
            return_address="Letter Writers\nPO Box 1\nLondon N1 1AA",
            body=(
                "Dear Ilham,\n\nWe have not forgotten you. Your students still read your books, "
                f"and letter {i + 1} of many is on its way.\n\nWith warm wishes,"
            ),
            written_on=date.today(),
            paper=Paper.LETTER if i % 5 == 0 else Paper.A4,
        )
        for i in range(count)
    )
    with app.test_request_context():
        before = _rss_mb()
        started = time.perf_counter()
        pdf = batch_pdf(letters)
        seconds = time.perf_counter() - started
    return {
        "letters": count,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(_rss_mb(), 1),
        "rss_before_mb": round(before, 1),
        "pdf_pages": _pages(pdf),
        "pdf_bytes": len(pdf),
    }


def _run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run every job and print the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--letters", type=int, default=1000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job, url, *rest = args.child
        if job == "bundle":
            print(json.dumps(child_bundle(url, int(rest[0]))))
        else:
            print(json.dumps(child_letters(url, int(rest[0]), rest[1])))
        return
    with temp_instance() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        started = time.perf_counter()
        campaigns = build_database(url, [args.small, args.large])
        print(json.dumps({"setup_seconds": round(time.perf_counter() - started, 1)}), flush=True)
        letters = _run_child("letters", url, str(args.letters), tmp)
        print(json.dumps({"job": "printed_letters_batch", **letters}), flush=True)
        small = _run_child("bundle", url, str(campaigns[args.small]))
        print(json.dumps({"job": f"bundle_{args.small}", **small}), flush=True)
        large = _run_child("bundle", url, str(campaigns[args.large]))
        print(json.dumps({"job": f"bundle_{args.large}", **large}), flush=True)
    emit(
        {
            "ratio": round(large["peak_rss_mb"] / small["peak_rss_mb"], 3),
            "goal": GOAL,
            "meets_goal": large["peak_rss_mb"] / small["peak_rss_mb"] <= GOAL,
            "letters_seconds": letters["seconds"],
            "small_bundle_seconds": small["seconds"],
            "large_bundle_seconds": large["seconds"],
            "small_bundle_peak_rss_mb": small["peak_rss_mb"],
            "large_bundle_peak_rss_mb": large["peak_rss_mb"],
        }
    )


if __name__ == "__main__":
    main()
