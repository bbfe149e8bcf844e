"""Staff passwords: Argon2id hashes and the rules a new password must meet."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 12
MAX_LENGTH = 1024
COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt.gz"

# argon2-cffi's defaults follow RFC 9106's second recommended profile (Argon2id, 64 MiB).
_hasher = PasswordHasher()
# Verified against when an email is unknown, so that a wrong address costs as long as a
# wrong password and the answer's timing says nothing about which accounts exist.
_DUMMY_HASH = _hasher.hash("not-a-real-password-just-for-timing")


class PasswordRejected(ValueError):
    """A new password breaks a rule; the message says which, in plain words."""


@functools.cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as handle:
        return frozenset(line.strip() for line in handle if line.strip())


def check_policy(password: str, *, email: str = "") -> None:
    """Raise PasswordRejected unless `password` is long enough and not a common one."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(
            f"Please use at least {MIN_LENGTH} characters. A few unrelated words make a "
            "long password that is easy to remember."
        )
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"Please use at most {MAX_LENGTH} characters.")
    folded = password.strip().lower()
    if folded in _common_passwords():
        raise PasswordRejected(
            "That password is on a list of common passwords that attackers try first. "
            "Please choose another."
        )
    local = email.partition("@")[0].lower()
    if local and len(local) >= 4 and local in folded:
        raise PasswordRejected("Please choose a password that does not contain your email.")
    if len(set(password)) < 4:
        raise PasswordRejected("Please use more varied characters.")


def hash_password(password: str) -> str:
    """An Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches; spends the same time when there is no hash."""
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when a hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored_hash)
