"""Text fingerprints for near-copy detection: keyed, sampled shingle hashes and Dice overlap.

Framework-free. A text is normalised (case-folded, every character that is not a letter or
a digit removed, so whitespace, punctuation and case never matter), cut into overlapping
windows of `SHINGLE` bytes (UTF-8), and each window is hashed with a key. Winnowing keeps the
smallest hash of every `WINNOW` consecutive windows: any shared passage of at least
`SHINGLE + WINNOW - 1` normalised bytes is guaranteed to share a kept hash, while only
about a fifth of the hashes are kept. Two texts are compared by the Dice coefficient of their
kept hashes.

The hashes are keyed (BLAKE2b with a key derived from the app's secret), so a stolen set of
fingerprints cannot be tested against guessed sentences: without the key nobody can compute
the hash of a window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

# Bytes per window (the best-known letter-writing service uses 32-byte windows).
SHINGLE = 32
# Windows per winnowing window: a kept hash for every passage of 39 bytes or more.
WINNOW = 8

_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Case-fold and keep only letters and digits (of any script)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NOT_ALPHANUMERIC.sub("", folded)


def fingerprint_key(secret_key: str) -> bytes:
    """The hashing key, derived from the app's secret so it is never stored."""
    return hmac.new(secret_key.encode(), b"advocacy.words.fingerprint", hashlib.sha256).digest()


def _window_hashes(text: str, key: bytes) -> list[int]:
    """A signed 64-bit keyed hash of every SHINGLE-byte window of a normalised text."""
    data = text.encode()
    if not data:
        return []
    # A text shorter than one window is one window: two identical short texts still match.
    count = max(len(data) - SHINGLE + 1, 1)
    blake2b, from_bytes = hashlib.blake2b, int.from_bytes
    return [
        from_bytes(
            blake2b(data[start : start + SHINGLE], key=key, digest_size=8).digest(),
            "big",
            signed=True,
        )
        for start in range(count)
    ]


def window_hashes(text: str, key: bytes) -> set[int]:
    """Every window hash of a text (used to recognise the campaign's own wording)."""
    return set(_window_hashes(normalise(text), key))


def fingerprints(text: str, key: bytes) -> set[int]:
    """The winnowed hashes of a text: the minimum of every run of WINNOW window hashes."""
    hashes = _window_hashes(normalise(text), key)
    if len(hashes) <= WINNOW:
        return {min(hashes)} if hashes else set()
    return {min(hashes[i : i + WINNOW]) for i in range(len(hashes) - WINNOW + 1)}


def letter_fingerprints(texts: Iterable[str], stock: str, key: bytes) -> set[int]:
    """The fingerprints of a person's words, without any that come from the campaign's text.

    `texts` are what the person wrote or sent (their own words, the edited body); `stock` is
    the campaign's letter as rendered for them with no words of their own. A hash that also
    occurs anywhere in `stock` is the campaign's wording, not copying, and is dropped.
    """
    kept: set[int] = set()
    for text in texts:
        kept |= fingerprints(text, key)
    if stock and kept:
        kept -= window_hashes(stock, key)
    return kept


def dice(a: set[int], b: set[int]) -> float:
    """The Dice coefficient of two fingerprint sets (0 when both are empty)."""
    if not a and not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))
