"""Near-copy detection against the fingerprint index, the writing hint, and the review hold.

A letter's own words (what the person wrote, and the body as they sent it, without the
campaign's text) are fingerprinted when the person confirms it. The fingerprints go into
`letter_fingerprints`, an inverted index keyed by (campaign, hash); checking a letter is one
indexed look-up of its hashes and a count per earlier letter, so its cost depends on how
many letters share its words, not on how many letters the campaign holds.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, text
from sqlalchemy.orm import Session

from advocacy.campaigns.services import JourneyError, render_letter_text
from advocacy.config import Settings
from advocacy.models import Letter, LetterFingerprint, LetterState, LetterTemplate
from advocacy.words.similarity import fingerprint_key, letter_fingerprints

logger = logging.getLogger(__name__)

# The reason of every letter held as a near-copy starts with this.
NEAR_COPY = "near-copy"

# A passage shared by more letters than this is compared with its most recent letters only.
# A paragraph circulated to thousands would otherwise make every check count thousands of
# rows; its most recent copies are enough to show the letter is one of many.
PASSAGE_SAMPLE = 64

# The hint names a count only when at least this many letters are close: a count of one or
# two would let anyone test whether somebody has written a particular story.
HINT_MIN_LETTERS = 3


class ReviewError(Exception):
    """A review action that does not apply to this letter; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Match:
    """An earlier letter whose words are close to the one checked."""

    letter_id: int
    score: float
    is_same_mp: bool


@dataclass(frozen=True)
class SimilarityReport:
    """The letters at or above the threshold, best first."""

    matches: tuple[Match, ...]
    # True when a passage was shared by more than PASSAGE_SAMPLE letters, so the counts
    # are lower bounds.
    is_capped: bool = False

    @property
    def same_mp(self) -> int:
        """Close letters to the same MP."""
        return sum(1 for m in self.matches if m.is_same_mp)

    @property
    def campaign(self) -> int:
        """Close letters to anyone in the campaign."""
        return len(self.matches)

    def under_rule(self, rule: str) -> tuple[Match, ...]:
        """The matches that count under SIMILARITY_HOLD (`same_mp`, `campaign` or `off`)."""
        if rule == "campaign":
            return self.matches
        if rule == "same_mp":
            return tuple(m for m in self.matches if m.is_same_mp)
        return ()


def stock_body(
    template: LetterTemplate | None, *, mp_name: str, constituency: str, sender_name: str
) -> str:
    """The campaign's letter as rendered for this person, with no words of their own."""
    if template is None:
        return ""
    try:
        return render_letter_text(
            template.body_template,
            mp_name=mp_name,
            constituency=constituency,
            sender_name=sender_name,
            personal_words="",
        )
    except JourneyError:
        # A broken template is reported on the write page; here it only means there is no
        # campaign text to set aside.
        return ""


def draft_hashes(
    *,
    texts: Iterable[str],
    template: LetterTemplate | None,
    stock_context: dict[str, str],
    secret_key: str,
) -> set[int]:
    """The fingerprints of a person's words, the campaign's own wording set aside."""
    stock = stock_body(template, **stock_context)
    return letter_fingerprints(texts, stock, fingerprint_key(secret_key))


def letter_hashes(letter: Letter, secret_key: str) -> set[int]:
    """The fingerprints of a saved letter: its own words and its body, minus the template."""
    return draft_hashes(
        texts=(letter.personal_text, letter.body_text),
        template=letter.template,
        stock_context={
            "mp_name": letter.recipient_name or "Member of Parliament",
            "constituency": letter.constituency_name or "",
            "sender_name": letter.sender_name,
        },
        secret_key=secret_key,
    )


_LATERAL = text(
    "SELECT h.hash, p.letter_id, p.letter_size FROM unnest(CAST(:hashes AS BIGINT[])) AS h(hash) "
    "CROSS JOIN LATERAL (SELECT f.letter_id, f.letter_size FROM letter_fingerprints f "
    "WHERE f.campaign_id = :campaign_id AND f.hash = h.hash "
    "ORDER BY f.letter_id DESC LIMIT :sample) AS p"
)
_PER_HASH = (
    "SELECT hash, letter_id, letter_size FROM letter_fingerprints "
    "WHERE campaign_id = ? AND hash = ? ORDER BY letter_id DESC LIMIT ?"
)


def _postings(
    session: Session, campaign_id: int, hashes: Sequence[int]
) -> list[tuple[int, int, int]]:
    """(hash, letter id, letter size) for earlier letters sharing each hash, newest first.

    Each hash is an index seek on (campaign_id, hash, letter_id) that stops after
    PASSAGE_SAMPLE rows: PostgreSQL does them all in one statement with a lateral join;
    SQLite, which has none, runs one prepared statement per hash, in-process.
    """
    if not hashes:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            _LATERAL,
            {"hashes": list(hashes), "campaign_id": campaign_id, "sample": PASSAGE_SAMPLE},
        )
        return [(int(r[0]), int(r[1]), int(r[2])) for r in rows]
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        found: list[tuple[int, int, int]] = []
        for value in hashes:
            found.extend(cursor.execute(_PER_HASH, (campaign_id, value, PASSAGE_SAMPLE)))
        return found
    finally:
        cursor.close()


def find_similar(
    session: Session,
    *,
    campaign_id: int,
    hashes: set[int],
    constituency_code: str | None,
    threshold: float,
    exclude_letter_id: int | None = None,
    exclude_digest: str | None = None,
) -> SimilarityReport:
    """Earlier letters of the campaign whose Dice score with `hashes` reaches `threshold`.

    The person's own earlier letters (same email digest) never count: writing again after a
    lost confirmation email is not copying.
    """
    postings = _postings(session, campaign_id, sorted(hashes))
    shared: Counter[int] = Counter()
    sizes: dict[int, int] = {}
    per_hash: Counter[int] = Counter()
    for value, letter_id, size in postings:
        per_hash[value] += 1
        if letter_id == exclude_letter_id:
            continue
        shared[letter_id] += 1
        sizes[letter_id] = size
    close = {
        letter_id: score
        for letter_id, count in shared.items()
        if (score := 2 * count / (len(hashes) + sizes[letter_id])) >= threshold
    }
    matches: list[Match] = []
    ids = sorted(close)
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(Letter.id, Letter.constituency_code, Letter.email_digest).where(
                Letter.id.in_(ids[start : start + 500])
            )
        ).all()
        for letter_id, code, digest in rows:
            if exclude_digest is not None and digest == exclude_digest:
                continue
            matches.append(
                Match(
                    letter_id=int(letter_id),
                    score=close[letter_id],
                    is_same_mp=code is not None and code == constituency_code,
                )
            )
    matches.sort(key=lambda m: (-m.score, -m.letter_id))
    is_capped = any(count >= PASSAGE_SAMPLE for count in per_hash.values())
    return SimilarityReport(matches=tuple(matches), is_capped=is_capped)


def record_fingerprints(
    session: Session, letter_id: int, campaign_id: int, hashes: set[int]
) -> None:
    """Add a letter's fingerprints to the index, in the caller's transaction."""
    if not hashes:
        return
    size = len(hashes)
    session.execute(
        insert(LetterFingerprint),
        [
            {"letter_id": letter_id, "hash": value, "campaign_id": campaign_id, "letter_size": size}
            for value in sorted(hashes)
        ],
    )


def erase_fingerprints(session: Session, letter_ids: Iterable[int]) -> int:
    """Delete the fingerprints of these letters (with their personal data)."""
    ids = list(letter_ids)
    removed = 0
    for start in range(0, len(ids), 500):
        result = session.execute(
            delete(LetterFingerprint).where(
                LetterFingerprint.letter_id.in_(ids[start : start + 500])
            )
        )
        removed += int(getattr(result, "rowcount", 0) or 0)
    return removed


def hold_reason(report: SimilarityReport, rule: str) -> str | None:
    """The reason to hold a letter under `rule`, or None to send it."""
    counted = report.under_rule(rule)
    if not counted:
        return None
    best = max(m.score for m in counted)
    count = f"at least {len(counted)}" if report.is_capped else str(len(counted))
    plural = "letter" if len(counted) == 1 else "letters"
    where = "to the same MP" if rule == "same_mp" else "in the campaign"
    return f"{NEAR_COPY}: {best:.2f} similar to {count} other {plural} {where}"


def check_on_confirm(session: Session, letter: Letter, settings: Settings) -> str | None:
    """Index a confirmed letter's words; return why to hold it for review, or None.

    Runs in the caller's transaction, before the letter is queued. With SIMILARITY_HOLD=off
    the words are still indexed, so the hint keeps working and the rule can be turned on.
    """
    hashes = letter_hashes(letter, settings.secret_key)
    report = find_similar(
        session,
        campaign_id=letter.campaign_id,
        hashes=hashes,
        constituency_code=letter.constituency_code,
        threshold=settings.similarity_threshold,
        exclude_letter_id=letter.id,
        exclude_digest=letter.email_digest,
    )
    record_fingerprints(session, letter.id, letter.campaign_id, hashes)
    reason = hold_reason(report, settings.similarity_hold)
    if reason is not None:
        logger.info(
            "letter %s held for review as a near-copy (%d close to the same MP, %d in the "
            "campaign)",
            letter.id,
            report.same_mp,
            report.campaign,
        )
    return reason


@dataclass(frozen=True)
class Hint:
    """What the write and preview pages say about how close the words are to others."""

    is_close: bool
    message: str | None
    similar_letters: int | None = None
    is_to_your_mp: bool | None = None

    def as_dict(self) -> dict[str, object]:
        """The JSON shape of the hint endpoint."""
        return {
            "close": self.is_close,
            "message": self.message,
            "similar_letters": self.similar_letters,
            "to_your_mp": self.is_to_your_mp,
        }


ADVICE = "A sentence about why this matters to you will carry more weight."
OWN_WORDS = "We found no other letter like yours. Thank you for writing in your own words."


def hint_for(report: SimilarityReport, mp_name: str | None) -> Hint:
    """A kind hint from a report; counts below HINT_MIN_LETTERS are never shown."""
    same, anyone = report.same_mp, report.campaign
    more = "more than " if report.is_capped else ""
    if same >= HINT_MIN_LETTERS:
        to = f"to {mp_name}" if mp_name else "to your MP"
        message = f"Your words are very close to {more}{same} other letters {to}. {ADVICE}"
        return Hint(True, message, same, True)
    if anyone >= HINT_MIN_LETTERS:
        message = (
            f"Your words are very close to {more}{anyone} other letters in this campaign. {ADVICE}"
        )
        return Hint(True, message, anyone, False)
    return Hint(False, OWN_WORDS)


def check_draft(
    session: Session,
    *,
    campaign_id: int,
    template: LetterTemplate,
    constituency_code: str,
    stock_context: dict[str, str],
    texts: Sequence[str],
    mp_name: str | None,
    settings: Settings,
    email_digest: str | None = None,
) -> Hint | None:
    """The hint for words being written (nothing is saved); None when there are none yet."""
    if not any(t.strip() for t in texts):
        return None
    hashes = draft_hashes(
        texts=texts,
        template=template,
        stock_context=stock_context,
        secret_key=settings.secret_key,
    )
    if not hashes:
        return None
    report = find_similar(
        session,
        campaign_id=campaign_id,
        hashes=hashes,
        constituency_code=constituency_code,
        threshold=settings.similarity_threshold,
        exclude_digest=email_digest,
    )
    return hint_for(report, mp_name)


# The review queue's service functions (the staff screens build on these) ------------------


@dataclass(frozen=True)
class SimilarLetter:
    """An earlier letter a held one is close to, for staff to compare side by side."""

    letter_id: int
    score: float
    is_same_mp: bool
    state: str
    excerpt: str


@dataclass(frozen=True)
class HeldNearCopy:
    """A letter held for review as a near-copy, with the letters it is close to."""

    letter_id: int
    campaign_id: int
    constituency_name: str | None
    held_at: datetime | None
    reason: str
    excerpt: str
    similar: tuple[SimilarLetter, ...]


def _excerpt(words: str, limit: int) -> str:
    words = " ".join(words.split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def similar_to(
    session: Session,
    letter: Letter,
    settings: Settings,
    *,
    limit: int = 20,
    excerpt_chars: int = 300,
) -> tuple[SimilarLetter, ...]:
    """The letters closest to an indexed letter, best first, with excerpts of their own words.

    For staff only: this is the one place another person's words are shown.
    """
    hashes = set(
        session.scalars(
            select(LetterFingerprint.hash).where(LetterFingerprint.letter_id == letter.id)
        )
    )
    report = find_similar(
        session,
        campaign_id=letter.campaign_id,
        hashes=hashes,
        constituency_code=letter.constituency_code,
        threshold=settings.similarity_threshold,
        exclude_letter_id=letter.id,
    )
    chosen = report.matches[:limit]
    others = {
        row.id: row
        for row in session.scalars(
            select(Letter).where(Letter.id.in_([m.letter_id for m in chosen]))
        )
    }
    return tuple(
        SimilarLetter(
            letter_id=m.letter_id,
            score=m.score,
            is_same_mp=m.is_same_mp,
            state=str(others[m.letter_id].state),
            excerpt=_excerpt(others[m.letter_id].personal_text, excerpt_chars),
        )
        for m in chosen
        if m.letter_id in others
    )


def list_held_near_copies(
    session: Session, settings: Settings, *, campaign_id: int | None = None, limit: int = 50
) -> list[HeldNearCopy]:
    """Letters held as near-copies, oldest first, each with the letters it is close to."""
    query = (
        select(Letter)
        .where(Letter.state == LetterState.HELD, Letter.failure_reason.startswith(NEAR_COPY))
        .order_by(Letter.held_at, Letter.id)
        .limit(limit)
    )
    if campaign_id is not None:
        query = query.where(Letter.campaign_id == campaign_id)
    return [
        HeldNearCopy(
            letter_id=letter.id,
            campaign_id=letter.campaign_id,
            constituency_name=letter.constituency_name,
            held_at=letter.held_at,
            reason=letter.failure_reason or "",
            excerpt=_excerpt(letter.personal_text, 300),
            similar=similar_to(session, letter, settings),
        )
        for letter in session.scalars(query)
    ]
