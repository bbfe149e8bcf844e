"""Near-copy checks against a campaign of 100,000 letters, against one of 1,000.

    .venv/bin/python bench/similarity.py [--large 100000] [--small 1000] [--checks 300]

Builds two temporary SQLite databases by migration, each with one campaign whose earlier
letters are indexed in `letter_fingerprints`: 1,000 letters in one, 100,000 in the other.
Their own words are generated the way campaigns get them: a few sentences each, most in the
writer's own words (random words from a 3,000-word vocabulary), about a quarter of them
taken from eight sentences that circulate among supporters, and one letter in twenty a
pasted copy of a circulated paragraph.

Then it checks the same new letters against each campaign, as confirming one does: the
letter's fingerprints (its own words and the drafted body, the campaign's text set aside)
and the indexed look-up and count. Printed: each index's build time, rows and size; the
median and 90th percentile of a check on each; that every deliberate near-copy was found;
and last, one JSON object whose `ratio` is the 100,000-letter median over the 1,000-letter
median (the goal is at most 3).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from advocacy.campaigns.seed import seed_campaigns  # noqa: E402
from advocacy.db import make_engine  # noqa: E402
from advocacy.migrate import upgrade  # noqa: E402
from advocacy.models import (  # noqa: E402
    Campaign,
    Letter,
    LetterFingerprint,
    LetterState,
    LetterTemplate,
    utcnow,
)
from advocacy.words import services  # noqa: E402
from advocacy.words.similarity import fingerprint_key, letter_fingerprints  # noqa: E402

SECRET = "bench-secret"  # noqa: S105 (a throwaway key for temporary databases)
SEATS = 650
THRESHOLD = 0.5

_SYLLABLES = [c + v for c in "bdfghklmnprstvyz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def emit(record: dict[str, Any]) -> None:
    """Print one measurement as a JSON line."""
    print(json.dumps(record), flush=True)


class Writer:
    """Generates letters' own words, deterministically from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        vocab = random.Random(1)
        self.words = [
            "".join(vocab.choice(_SYLLABLES) for _ in range(vocab.randint(1, 4)))
            for _ in range(3000)
        ]
        self.circulated = [self._sentence(vocab, 10, 18) for _ in range(8)]
        self.paragraph = " ".join(self.circulated[:3])

    def _sentence(self, rng: random.Random, low: int, high: int) -> str:
        words = [rng.choice(self.words) for _ in range(rng.randint(low, high))]
        return " ".join(words).capitalize() + "."

    def own_words(self) -> str:
        """One person's words: mostly their own, sometimes a circulated sentence or paragraph."""
        if self.rng.random() < 0.05:
            return self.paragraph
        sentences = [
            self.rng.choice(self.circulated)
            if self.rng.random() < 0.25
            else self._sentence(self.rng, 6, 16)
            for _ in range(self.rng.randint(2, 5))
        ]
        return " ".join(sentences)


def _seat(n: int) -> tuple[str, str, str]:
    return f"E14{n:06d}", f"Constituency {n}", f"Member {n}"


def build(url: str, count: int, writer: Writer) -> tuple[Campaign, LetterTemplate, list[str]]:
    """Migrate, seed and index `count` earlier letters; return the campaign and some words."""
    upgrade(url)
    engine = make_engine(url)
    key = fingerprint_key(SECRET)
    kept: list[str] = []
    with Session(engine, expire_on_commit=False) as session:
        seed_campaigns(session)
        session.commit()
        campaign = session.scalars(select(Campaign)).first()
        assert campaign is not None
        template = campaign.templates[0]
        campaign_id, template_id = campaign.id, template.id
        now = utcnow()
        started = time.perf_counter()
        batch = 5000
        for first in range(0, count, batch):
            rows, words = [], []
            for n in range(first, min(first + batch, count)):
                own = writer.own_words()
                code, name, mp = _seat(n % SEATS)
                words.append(own)
                rows.append(
                    {
                        "campaign_id": campaign_id,
                        "template_id": template_id,
                        "email_digest": f"{n:064x}",
                        "sender_name": f"Writer {n}",
                        "sender_email": f"writer{n}@example.org",
                        "sender_address": f"{n} High Street",
                        "sender_postcode": "GU11 1AA",
                        "personal_text": own,
                        "subject": "About the Uyghurs",
                        "body_text": own,
                        "recipient_name": mp,
                        "constituency_code": code,
                        "constituency_name": name,
                        "state": LetterState.SENT.value,
                        "state_changed_at": now,
                        "created_at": now,
                    }
                )
            ids = session.scalars(insert(Letter).returning(Letter.id), rows).all()
            postings = []
            # The index holds a letter's own words; the campaign's text is never in it.
            for letter_id, own in zip(ids, words, strict=True):
                hashes = letter_fingerprints([own], "", key)
                size = len(hashes)
                postings.extend(
                    {
                        "letter_id": letter_id,
                        "hash": h,
                        "campaign_id": campaign_id,
                        "letter_size": size,
                    }
                    for h in hashes
                )
            session.execute(insert(LetterFingerprint), postings)
            session.commit()
            kept.extend(words[:20])
        session.execute(text("ANALYZE"))
        session.commit()
        elapsed = time.perf_counter() - started
        rows_indexed = session.scalar(select(func.count()).select_from(LetterFingerprint))
        size = _index_bytes(session)
        session.expunge_all()
    engine.dispose()
    emit(
        {
            "index": f"{count} letters",
            "build_s": round(elapsed, 1),
            "fingerprint_rows": rows_indexed,
            "index_bytes": size,
            "database_bytes": Path(url.removeprefix("sqlite:///")).stat().st_size,
        }
    )
    return campaign, template, kept


def _index_bytes(session: Session) -> int | None:
    """Bytes of the fingerprint table and its index (SQLite's dbstat), if available."""
    try:
        return int(
            session.scalar(
                text(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name IN ('letter_fingerprints', "
                    "'ix_letter_fingerprints_campaign_id_hash', 'sqlite_autoindex_letter_"
                    "fingerprints_1')"
                )
            )
            or 0
        )
    except Exception:  # dbstat is a compile-time option of SQLite
        return None


def _draft(template: LetterTemplate, own: str, seat: int) -> tuple[list[str], dict[str, str]]:
    _code, name, mp = _seat(seat)
    stock_context = {"mp_name": mp, "constituency": name, "sender_name": "New Writer"}
    stock = services.stock_body(template, **stock_context)
    body = stock.replace("\n\n\n\n", f"\n\n{own}\n\n")
    return [own, body], stock_context


def check(session: Session, campaign_id: int, template: LetterTemplate, own: str, seat: int) -> Any:
    """One check as confirming does it: fingerprints, then the indexed look-up and count."""
    texts, stock_context = _draft(template, own, seat)
    hashes = services.draft_hashes(
        texts=texts, template=template, stock_context=stock_context, secret_key=SECRET
    )
    return services.find_similar(
        session,
        campaign_id=campaign_id,
        hashes=hashes,
        constituency_code=_seat(seat)[0],
        threshold=THRESHOLD,
    )


def measure(
    url: str, template: LetterTemplate, campaign_id: int, letters: list[tuple[str, int]]
) -> tuple[list[float], int]:
    """Milliseconds per check of each letter, and how many found a near-copy."""
    engine = make_engine(url)
    times, found = [], 0
    with Session(engine) as session:
        for own, seat in letters[:20]:  # warm the page cache and the statement caches
            check(session, campaign_id, template, own, seat)
        for own, seat in letters:
            started = time.perf_counter()
            report = check(session, campaign_id, template, own, seat)
            times.append((time.perf_counter() - started) * 1000)
            found += bool(report.matches)
            session.rollback()
    engine.dispose()
    return times, found


def _disguise(words: str) -> str:
    """A pasted copy as another person sends it: other case, spacing and punctuation."""
    return "  " + words.upper().replace(" ", "  ").replace(".", "!!") + " "


def main() -> None:
    """Build both indexes, check the same letters against each, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--checks", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-similarity-") as tmp:
        small_url = f"sqlite:///{Path(tmp) / 'small.db'}"
        large_url = f"sqlite:///{Path(tmp) / 'large.db'}"
        small_campaign, small_template, small_words = build(small_url, args.small, Writer(2))
        large_campaign, large_template, large_words = build(large_url, args.large, Writer(3))

        rng = random.Random(4)
        fresh = Writer(5)
        new_letters = [(fresh.own_words(), rng.randrange(SEATS)) for _ in range(args.checks)]
        copies_small = [(_disguise(w), rng.randrange(SEATS)) for w in small_words[:20]]
        copies_large = [(_disguise(w), rng.randrange(SEATS)) for w in large_words[:20]]

        rounds: dict[str, list[float]] = {"small": [], "large": []}
        # Alternate the two, so drift on a shared machine falls on both alike.
        for _ in range(3):
            for name, url, campaign, template in (
                ("small", small_url, small_campaign, small_template),
                ("large", large_url, large_campaign, large_template),
            ):
                times, _found = measure(url, template, campaign.id, new_letters)
                rounds[name].extend(times)
        _t, found_small = measure(small_url, small_template, small_campaign.id, copies_small)
        _t, found_large = measure(large_url, large_template, large_campaign.id, copies_large)

    summary: dict[str, Any] = {}
    for name, count in (("small", args.small), ("large", args.large)):
        times = sorted(rounds[name])
        summary[name] = {
            "letters": count,
            "checks": len(times),
            "median_ms": round(statistics.median(times), 3),
            "p90_ms": round(times[int(len(times) * 0.9)], 3),
        }
        emit({"campaign": f"{count} letters", **summary[name]})
    emit(
        {
            "near_copies_found": {
                f"{args.small} letters": f"{found_small}/{len(copies_small)}",
                f"{args.large} letters": f"{found_large}/{len(copies_large)}",
            }
        }
    )
    ratio = summary["large"]["median_ms"] / summary["small"]["median_ms"]
    emit(
        {
            "benchmark": "similarity",
            "large_median_ms": summary["large"]["median_ms"],
            "small_median_ms": summary["small"]["median_ms"],
            "ratio": round(ratio, 2),
            "goal": "at most 3",
        }
    )


if __name__ == "__main__":
    main()
