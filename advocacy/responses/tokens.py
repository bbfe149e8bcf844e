"""Reply addresses and questionnaire links: both signed, so a guessed one matches nothing.

A reply address is `reply+<public id><mac>@REPLY_DOMAIN`: the letter's public id (32 hex
digits) followed by the first 16 hex digits of an HMAC of it. Only lowercase hex is used
because mail systems may change the case of an address's local part, and the whole local
part (54 characters) stays under the 64 that addresses allow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import lru_cache

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

REPLY_PREFIX = "reply+"
_PUBLIC_ID = 32
_MAC = 16
TOKEN_LENGTH = _PUBLIC_ID + _MAC
# Anywhere in a recipient field: "reply+<48 hex>@". The domain is not checked here: a
# token is only ever believed after its MAC is.
_ADDRESS = re.compile(rb"reply\+([0-9a-fA-F]{48})@")
MAX_TOKENS_PER_MESSAGE = 5


@lru_cache(maxsize=8)
def _reply_key(secret_key: str) -> bytes:
    """A key for reply addresses alone, derived from SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"reply-address", hashlib.sha256).digest()


def _mac(public_id: str, secret_key: str) -> str:
    return hmac.new(_reply_key(secret_key), public_id.encode(), hashlib.sha256).hexdigest()[:_MAC]


def reply_token(public_id: str, secret_key: str) -> str:
    """The signed token that names one letter in its reply address."""
    return public_id + _mac(public_id, secret_key)


def reply_address(public_id: str, secret_key: str, domain: str) -> str:
    """The per-letter address that receives a copy of the MP's reply."""
    return f"{REPLY_PREFIX}{reply_token(public_id, secret_key)}@{domain}"


def public_id_from_token(token: str, secret_key: str) -> str | None:
    """The letter's public id a token names, or None if its MAC is wrong."""
    token = token.lower()
    if len(token) != TOKEN_LENGTH:
        return None
    public_id, mac = token[:_PUBLIC_ID], token[_PUBLIC_ID:]
    if not hmac.compare_digest(mac, _mac(public_id, secret_key)):
        return None
    return public_id


def find_tokens(*fields: bytes) -> list[str]:
    """The distinct reply tokens in recipient fields (To, Cc, the envelope), in order."""
    found: list[str] = []
    for value in fields:
        for match in _ADDRESS.finditer(value):
            token = match.group(1).decode("ascii").lower()
            if token not in found:
                found.append(token)
            if len(found) >= MAX_TOKENS_PER_MESSAGE:
                return found
    return found


def _questionnaire_serializer() -> URLSafeSerializer:
    cache: dict[str, URLSafeSerializer] = current_app.extensions.setdefault(
        "questionnaire_serializer", {}
    )
    key = current_app.config["SECRET_KEY"]
    serializer = cache.get(key)
    if serializer is None:
        serializer = cache[key] = URLSafeSerializer(key, salt="reply-questionnaire")
    return serializer


def questionnaire_token(public_id: str) -> str:
    """The signed part of a letter's one-click answer links (no login needed)."""
    return str(_questionnaire_serializer().dumps(public_id))


def load_questionnaire_token(token: str) -> str | None:
    """The letter's public id in an answer link, or None if the link was forged."""
    try:
        public_id = _questionnaire_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return public_id if isinstance(public_id, str) and len(public_id) == _PUBLIC_ID else None
