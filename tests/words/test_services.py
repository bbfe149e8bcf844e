"""Near-copy detection against the index, the hold rule, the hint, purging and review."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from advocacy.config import Settings
from advocacy.delivery.queue import queue_letter
from advocacy.models import Campaign, Letter, LetterFingerprint, LetterState, utcnow
from advocacy.privacy.services import enforce_retention
from advocacy.words import services
from advocacy.words.services import (
    HINT_MIN_LETTERS,
    NEAR_COPY,
    PASSAGE_SAMPLE,
    Match,
    SimilarityReport,
)
from tests.words.conftest import CIRCULATED, CIRCULATED_AGAIN, OWN_WORDS

ALDERSHOT = ("E14001063", "Aldershot", "Alex Baker")
SOUTH_HOLLAND = ("E14001487", "South Holland and the Deepings", "Sir John Hayes")


def _letter(
    session: Session,
    campaign: Campaign,
    words: str,
    *,
    n: int,
    seat: tuple[str, str, str] = ALDERSHOT,
    state: LetterState = LetterState.QUEUED,
) -> Letter:
    """A saved letter with the campaign's drafted body around `words`, in `state`."""
    template = campaign.templates[0]
    code, constituency, mp = seat
    body = services.stock_body(
        template, mp_name=mp, constituency=constituency, sender_name=f"Writer {n}"
    ).replace("\n\n\n\n", f"\n\n{words}\n\n")
    letter = Letter(
        campaign=campaign,
        campaign_id=campaign.id,
        template=template,
        template_id=template.id,
        email_digest=f"{n:064d}",
        sender_name=f"Writer {n}",
        sender_email=f"writer{n}@example.org",
        sender_address=f"{n} High Street",
        sender_postcode="GU11 1AA",
        personal_text=words,
        subject="About the Uyghurs",
        body_text=body,
        recipient_name=mp,
        recipient_email="mp@parliament.uk",
        constituency_code=code,
        constituency_name=constituency,
    )
    session.add(letter)
    session.flush()
    return letter


def _confirm(session: Session, letter: Letter, settings: Settings) -> str | None:
    """What confirming does with the words: index them and decide whether to hold."""
    reason = services.check_on_confirm(session, letter, settings)
    if reason is None:
        queue_letter(session, letter)
    else:
        letter.transition(LetterState.HELD, reason=reason)
    session.commit()
    return reason


def _fill(
    session: Session, campaign: Campaign, settings: Settings, words: list[str]
) -> list[Letter]:
    letters = []
    for n, text in enumerate(words, start=100):
        letter = _letter(session, campaign, text, n=n)
        _confirm(session, letter, settings)
        letters.append(letter)
    return letters


def test_a_near_copy_is_held_with_its_reason(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    _fill(session, campaign, settings, [*OWN_WORDS, CIRCULATED])
    copy = _letter(session, campaign, CIRCULATED_AGAIN, n=1)
    reason = _confirm(session, copy, settings)
    assert reason == f"{NEAR_COPY}: 1.00 similar to 1 other letter to the same MP"
    assert copy.state == LetterState.HELD
    assert copy.failure_reason == reason


def test_distinct_letters_are_not_held(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    letters = _fill(session, campaign, settings, list(OWN_WORDS))
    assert {letter.state for letter in letters} == {LetterState.QUEUED}
    # Every letter shares the campaign's text, and none of it was indexed.
    indexed = session.scalar(select(func.count()).select_from(LetterFingerprint))
    assert 0 < indexed < sum(len(words) for words in OWN_WORDS) / 3


def test_a_letter_is_never_a_copy_of_its_own_writer(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    first = _letter(session, campaign, CIRCULATED, n=5)
    _confirm(session, first, settings)
    again = _letter(session, campaign, CIRCULATED, n=5)
    assert _confirm(session, again, settings) is None
    assert again.state == LetterState.QUEUED


@pytest.mark.parametrize(("rule", "held"), [("same_mp", False), ("campaign", True), ("off", False)])
def test_the_hold_rule_decides_which_copies_count(
    campaign: Campaign, session: Session, settings: Settings, rule: str, held: bool
) -> None:
    settings = dataclasses.replace(settings, similarity_hold=rule)
    elsewhere = _letter(session, campaign, CIRCULATED, n=7, seat=SOUTH_HOLLAND)
    _confirm(session, elsewhere, settings)
    copy = _letter(session, campaign, CIRCULATED_AGAIN, n=8)
    reason = _confirm(session, copy, settings)
    assert (copy.state == LetterState.HELD) is held
    if held:
        assert reason == f"{NEAR_COPY}: 1.00 similar to 1 other letter in the campaign"
    # Whatever the rule, the words are indexed, so the hint and a later rule still work.
    assert session.scalar(select(func.count()).where(LetterFingerprint.letter_id == copy.id))


def _index(session: Session, campaign: Campaign, letter: Letter, hashes: set[int]) -> None:
    services.record_fingerprints(session, letter.id, campaign.id, hashes)
    session.commit()


@pytest.mark.parametrize(("threshold", "found"), [(0.5, True), (0.51, False)])
def test_the_threshold_is_inclusive(
    campaign: Campaign, session: Session, threshold: float, found: bool
) -> None:
    earlier = _letter(session, campaign, OWN_WORDS[0], n=1)
    _index(session, campaign, earlier, set(range(1, 11)))
    # 5 shared of 10 and 10 hashes: Dice = 2 * 5 / 20 = 0.5 exactly.
    report = services.find_similar(
        session,
        campaign_id=campaign.id,
        hashes={1, 2, 3, 4, 5, 11, 12, 13, 14, 15},
        constituency_code=ALDERSHOT[0],
        threshold=threshold,
    )
    assert [m.letter_id for m in report.matches] == ([earlier.id] if found else [])
    if found:
        assert report.matches[0].score == 0.5
        assert report.matches[0].is_same_mp


def test_other_campaigns_never_count(campaign: Campaign, session: Session) -> None:
    other = Campaign(slug="other", title="Other", summary="", sender_name="Other")
    session.add(other)
    session.flush()
    earlier = _letter(session, campaign, OWN_WORDS[0], n=1)
    _index(session, campaign, earlier, {1, 2, 3})
    report = services.find_similar(
        session, campaign_id=other.id, hashes={1, 2, 3}, constituency_code=None, threshold=0.5
    )
    assert report.matches == ()


def test_a_passage_in_very_many_letters_is_sampled_and_says_so(
    campaign: Campaign, session: Session
) -> None:
    copies = PASSAGE_SAMPLE + 6
    for n in range(copies):
        letter = _letter(session, campaign, CIRCULATED, n=n)
        services.record_fingerprints(session, letter.id, campaign.id, {1, 2, 3, 4})
    session.commit()
    report = services.find_similar(
        session,
        campaign_id=campaign.id,
        hashes={1, 2, 3, 4},
        constituency_code=ALDERSHOT[0],
        threshold=0.5,
    )
    assert report.is_capped
    # The most recent copies are the ones compared.
    assert report.campaign == PASSAGE_SAMPLE
    assert "more than 64 other letters" in (services.hint_for(report, "Alex Baker").message or "")


def _report(same: int, elsewhere: int) -> SimilarityReport:
    matches = [Match(i, 0.9, True) for i in range(same)]
    matches += [Match(100 + i, 0.9, False) for i in range(elsewhere)]
    return SimilarityReport(matches=tuple(matches))


def test_the_hint_names_the_mp_and_encourages_own_words() -> None:
    hint = services.hint_for(_report(40, 2), "Laura Trott")
    assert hint.is_close
    assert hint.message == (
        "Your words are very close to 40 other letters to Laura Trott. A sentence about why "
        "this matters to you will carry more weight."
    )
    assert hint.as_dict() == {
        "close": True,
        "message": hint.message,
        "similar_letters": 40,
        "to_your_mp": True,
    }
    campaign_wide = services.hint_for(_report(0, 12), "Laura Trott")
    assert campaign_wide.message is not None
    assert campaign_wide.message.startswith("Your words are very close to 12 other letters in")


def test_the_hint_never_counts_fewer_than_a_few_letters() -> None:
    # One or two matches could confirm that a particular person wrote a particular story.
    for few in range(HINT_MIN_LETTERS):
        hint = services.hint_for(_report(few, 0), "Laura Trott")
        assert not hint.is_close
        assert hint.similar_letters is None
        assert hint.message == services.OWN_WORDS


def test_purge_erases_the_fingerprints_with_the_words(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    old, recent = _fill(session, campaign, settings, [OWN_WORDS[0], OWN_WORDS[1]])
    for letter in (old, recent):
        letter.transition(LetterState.SENDING)
        letter.transition(LetterState.SENT)
    old.state_changed_at = utcnow() - timedelta(days=settings.letter_body_retention_days + 1)
    session.commit()

    def indexed(letter: Letter) -> int:
        return int(
            session.scalar(select(func.count()).where(LetterFingerprint.letter_id == letter.id))
            or 0
        )

    assert indexed(old)
    assert indexed(recent)
    assert enforce_retention(session, settings) == 1
    assert indexed(old) == 0
    assert indexed(recent) > 0


def test_erase_fingerprints_removes_only_the_named_letters(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    a, b = _fill(session, campaign, settings, [OWN_WORDS[2], OWN_WORDS[3]])
    assert services.erase_fingerprints(session, [a.id]) > 0
    session.commit()
    remaining = set(session.scalars(select(LetterFingerprint.letter_id)))
    assert remaining == {b.id}


def _held_copy(session: Session, campaign: Campaign, settings: Settings) -> tuple[Letter, Letter]:
    [original] = _fill(session, campaign, settings, [CIRCULATED])
    copy = _letter(session, campaign, CIRCULATED_AGAIN, n=1)
    assert _confirm(session, copy, settings) is not None
    return original, copy


def test_review_lists_held_copies_with_their_reason_and_similar_letters(
    campaign: Campaign, session: Session, settings: Settings
) -> None:
    original, copy = _held_copy(session, campaign, settings)
    _fill(session, campaign, settings, [OWN_WORDS[4]])
    [held] = services.list_held_near_copies(session, settings)
    assert held.letter_id == copy.id
    assert held.reason.startswith(NEAR_COPY)
    assert held.excerpt.startswith("i am DEEPLY concerned")
    [similar] = held.similar
    assert similar.letter_id == original.id
    assert similar.score == 1.0
    assert similar.is_same_mp
    assert similar.excerpt == CIRCULATED
    assert services.list_held_near_copies(session, settings, campaign_id=campaign.id + 1) == []
