"""The similarity measure: keyed, winnowed 32-byte shingles compared by Dice overlap."""

from __future__ import annotations

import random

import pytest

from advocacy.words.similarity import (
    SHINGLE,
    dice,
    fingerprint_key,
    fingerprints,
    letter_fingerprints,
    normalise,
)
from tests.words.conftest import CIRCULATED, CIRCULATED_AGAIN, OWN_WORDS

KEY = fingerprint_key("test-secret")


def test_normalise_ignores_case_punctuation_and_whitespace() -> None:
    assert normalise("  Hello,\n\tWORLD -- it's me! ") == "helloworlditsme"
    # Full-width letters and a full-width space, as some keyboards type them.
    assert normalise("\uff26\uff55\uff4c\uff4c\u3000width") == "fullwidth"


def test_normalise_keeps_letters_of_every_script() -> None:
    # Uyghur in Arabic script and in Cyrillic: the words stay, the punctuation goes.
    assert normalise("ئانام، ساقمۇ؟") == "ئانامساقمۇ"
    assert normalise("Мениң аилəм!") == "мениңаилəм"


def test_a_copy_with_other_case_spacing_and_punctuation_is_identical() -> None:
    assert dice(fingerprints(CIRCULATED, KEY), fingerprints(CIRCULATED_AGAIN, KEY)) == 1.0


def test_a_copy_with_a_sentence_added_stays_close() -> None:
    extended = CIRCULATED + " My uncle has been detained since 2019."
    score = dice(fingerprints(CIRCULATED, KEY), fingerprints(extended, KEY))
    assert 0.5 <= score < 1.0


def test_distinct_letters_are_far_apart() -> None:
    sets = [fingerprints(words, KEY) for words in (*OWN_WORDS, CIRCULATED)]
    for i, a in enumerate(sets):
        for b in sets[i + 1 :]:
            assert dice(a, b) < 0.1


def test_every_shared_passage_of_39_bytes_shares_a_hash() -> None:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    for _ in range(50):
        passage = "".join(rng.choice(letters) for _ in range(39))
        a = "".join(rng.choice(letters) for _ in range(200)) + passage
        b = passage + "".join(rng.choice(letters) for _ in range(200))
        assert fingerprints(a, KEY) & fingerprints(b, KEY)


def test_texts_shorter_than_a_window_match_only_themselves() -> None:
    short = "Please help my family."
    assert len(normalise(short)) < SHINGLE
    assert fingerprints(short, KEY) == fingerprints("please HELP my family", KEY)
    assert len(fingerprints(short, KEY)) == 1
    assert not fingerprints(short, KEY) & fingerprints("Please help my brother.", KEY)
    assert fingerprints("  ...  ", KEY) == set()


def test_only_a_fraction_of_windows_is_kept() -> None:
    text = " ".join(OWN_WORDS)
    windows = len(normalise(text).encode()) - SHINGLE + 1
    kept = len(fingerprints(text, KEY))
    assert windows * 0.1 < kept < windows * 0.35


def test_hashes_depend_on_the_secret() -> None:
    other = fingerprint_key("another-secret")
    assert not fingerprints(CIRCULATED, KEY) & fingerprints(CIRCULATED, other)
    assert all(isinstance(h, int) and -(2**63) <= h < 2**63 for h in fingerprints(CIRCULATED, KEY))


def test_the_campaign_text_does_not_count_as_copying() -> None:
    stock = (
        "Dear Alex Baker,\n\nI am writing to you as a constituent in Aldershot about the "
        "persecution of the Uyghur people.\n\n\n\nI would welcome your reply.\n\nYours "
        "sincerely,\nAyesha Khan"
    )

    def body(words: str) -> str:
        return stock.replace("\n\n\n\n", f"\n\n{words}\n\n")

    a = letter_fingerprints([OWN_WORDS[0], body(OWN_WORDS[0])], stock, KEY)
    b = letter_fingerprints([OWN_WORDS[1], body(OWN_WORDS[1])], stock, KEY)
    # Without setting the campaign's text aside, two letters would share all of it.
    assert dice(fingerprints(body(OWN_WORDS[0]), KEY), fingerprints(body(OWN_WORDS[1]), KEY)) > 0.3
    assert dice(a, b) < 0.1
    # A letter of nothing but the campaign's text has no words of its own to compare.
    assert letter_fingerprints([stock], stock, KEY) == set()


@pytest.mark.parametrize(("a", "b", "expected"), [(set(), set(), 0.0), ({1, 2}, {2, 3}, 0.5)])
def test_dice(a: set[int], b: set[int], expected: float) -> None:
    assert dice(a, b) == expected
