"""Signed tokens, keyed digests and cookie-free CSRF protection."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Request, Response, current_app, request
from flask.sessions import NullSession, SessionInterface, SessionMixin
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from wtforms.csrf.core import CSRF, CSRFTokenField
from wtforms.form import BaseForm
from wtforms.validators import ValidationError

from advocacy.validation import canonical_email

CONFIRMATION_MAX_AGE = 7 * 24 * 3600
CSRF_MAX_AGE = 6 * 3600


CSRF_TOKEN_REUSE_SECONDS = 300


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """One serializer per app and purpose (building one derives keys, which is not free)."""
    cache: dict[str, URLSafeTimedSerializer] = current_app.extensions.setdefault("serializers", {})
    serializer = cache.get(salt)
    if serializer is None:
        serializer = cache[salt] = URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=salt
        )
    return serializer


def email_digest(email: str, secret_key: str | None = None) -> str:
    """A keyed hash of an address's canonical form, for de-duplication without the address.

    See validation.canonical_email: name+tag@ and, at Gmail, dotted variants are one person.
    """
    key = (secret_key or current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, canonical_email(email).encode(), hashlib.sha256).hexdigest()


def make_confirmation_token(
    letter_public_id: str, idempotency_key: str, purpose: str = "confirm-letter"
) -> str:
    """A signed, expiring token that names one letter; single use because state moves on."""
    return _serializer(purpose).dumps([letter_public_id, idempotency_key[:8]])


def load_confirmation_token(token: str, purpose: str = "confirm-letter") -> tuple[str, str] | None:
    """The (letter public id, key prefix) in a token, or None if forged or expired."""
    try:
        public_id, key_prefix = _serializer(purpose).loads(token, max_age=CONFIRMATION_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    return str(public_id), str(key_prefix)


# A reviewer's edit goes back to the writer under its own purpose, so a confirmation link
# can never send an edited letter, nor the other way round.
REVIEW_PURPOSE = "review-letter"


PRIVACY_LINK_MAX_AGE = 24 * 3600


def make_privacy_token(digest: str) -> str:
    """A signed, expiring token naming a person by the keyed hash of their email address."""
    return _serializer("privacy-link").dumps(digest)


def load_privacy_token(token: str) -> str | None:
    """The email digest in a privacy link, or None if forged or expired."""
    try:
        digest = _serializer("privacy-link").loads(token, max_age=PRIVACY_LINK_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    return digest if isinstance(digest, str) and len(digest) == 64 else None


# The check-email page shows the address a confirmation went to, so its link lives a day,
# long enough to come back to, and names the letter only through a signature.
LETTER_PAGE_MAX_AGE = 24 * 3600


def make_letter_page_token(letter_public_id: str) -> str:
    """A signed token naming a letter on its check-email page."""
    return _serializer("letter-page").dumps(letter_public_id)


def load_letter_page_token(token: str) -> str | None:
    """The letter's public id in a check-email token, or None if forged or expired."""
    try:
        public_id = _serializer("letter-page").loads(token, max_age=LETTER_PAGE_MAX_AGE)
    except (BadSignature, SignatureExpired, ValueError, TypeError):
        return None
    return public_id if isinstance(public_id, str) else None


def same_origin(origin: str, base_url: str) -> bool:
    """True when an Origin header names the app's own scheme, host and port."""
    a, b = urlsplit(origin), urlsplit(base_url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


_VERIFIED_TOKENS_MAX = 256


def _check_signed_token(token: str) -> None:
    """Verify a form token, remembering good ones until they expire.

    Tokens are shared for minutes (see generate_csrf_token), so most submissions carry a
    token this process has already verified; only unknown tokens pay for the HMAC.
    """
    verified: dict[str, float] = current_app.extensions.setdefault("csrf_verified", {})
    expires = verified.get(token)
    if expires is not None and time.time() < expires:
        return
    _, signed_at = _serializer("csrf").loads(token, max_age=CSRF_MAX_AGE, return_timestamp=True)
    if len(verified) >= _VERIFIED_TOKENS_MAX:
        verified.clear()
    verified[token] = signed_at.timestamp() + CSRF_MAX_AGE


class NoCookieSessions(SessionInterface):
    """Flask sessions switched off: the app sets no cookies at all.

    Nothing here needs a session (forms carry their state, CSRF needs no cookie), and a
    cookie-free site leaves nothing on a shared or seized device. Writing to `session`
    raises, so a future change cannot add a cookie by accident.
    """

    def open_session(self, app: Flask, request: Request) -> NullSession:
        """A read-only, always-empty session."""
        return self.make_null_session(app)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Never set a cookie."""


class SignedTokenCSRF(CSRF):
    """CSRF protection that needs no cookie, so forms also work inside partners' iframes.

    Third-party cookies are often blocked in iframes, so a session-bound token would fail
    there. Instead the token is a signed, expiring nonce, and a POST must also come from a
    page of ours: browsers send Origin on every cross-site POST, and the framed form is
    itself served by us, so a forged cross-site submission fails the Origin check.
    """

    def setup_form(self, form: BaseForm) -> list[tuple[str, Any]]:
        """Add the hidden csrf_token field to a form."""
        self.form_meta = form.meta
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: CSRFTokenField) -> str:
        """A signed nonce, shared by the forms a process serves for a few minutes.

        The token is not tied to a person (there is no session to tie it to), so handing
        the same one to everybody for a short while loses nothing and saves signing one
        per form; it still expires CSRF_MAX_AGE after it was made.
        """
        now = time.monotonic()
        cached: tuple[float, str] | None = current_app.extensions.get("csrf_token")
        if cached is None or now - cached[0] > CSRF_TOKEN_REUSE_SECONDS:
            cached = (now, _serializer("csrf").dumps(secrets.token_urlsafe(8)))
            current_app.extensions["csrf_token"] = cached
        return cached[1]

    def validate_csrf_token(self, form: BaseForm, field: CSRFTokenField) -> None:
        """Check the token's signature and age, and the request's Origin."""
        if not current_app.config.get("CSRF_ENABLED", True):
            return
        try:
            _check_signed_token(field.data or "")
        except SignatureExpired as exc:
            raise ValidationError(
                "This form was open for too long. Please check your details and submit again."
            ) from exc
        except BadSignature as exc:
            raise ValidationError(
                "This form could not be verified. Please reload the page and try again."
            ) from exc
        origin = request.headers.get("Origin")
        if origin and origin != "null" and not same_origin(origin, request.host_url):
            raise ValidationError("This form must be submitted from our own site.")
