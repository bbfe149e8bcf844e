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

# A form token is shared by the forms one process serves for a few minutes (see
# generate_csrf_token) and then lives two hours: time to write a letter in one's own words
# with room to spare, and no longer, since a token lifted from a page is worth something
# only while it lives. Everybody gets at least CSRF_LIFETIME, whenever in the sharing
# window their page was served. When it runs out, the page comes back with everything typed
# and a fresh token, so a slow writer loses nothing.
CSRF_TOKEN_REUSE_SECONDS = 300
CSRF_LIFETIME = 2 * 3600
CSRF_MAX_AGE = CSRF_LIFETIME + CSRF_TOKEN_REUSE_SECONDS


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """One serializer per app and purpose (building one derives keys, which is not free)."""
    cache: dict[str, URLSafeTimedSerializer] = current_app.extensions.setdefault("serializers", {})
    serializer = cache.get(salt)
    if serializer is None:
        serializer = cache[salt] = URLSafeTimedSerializer(
            current_app.config["SECRET_KEY"], salt=salt
        )
    return serializer


def signer(salt: str) -> URLSafeTimedSerializer:
    """The app's serializer for one purpose: a token signed with one salt fails another."""
    return _serializer(salt)


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


DRAFT_VIEW_MAX_AGE = 3600


def make_draft_view_token(slug: str) -> str:
    """A signed, expiring token that lets staff see one draft campaign at its public address.

    Staff cookies are scoped to /workspace and the public pages set and read none, so the
    workspace hands out this short-lived link instead.
    """
    return _serializer("draft-view").dumps(slug)


def load_draft_view_token(token: str) -> str | None:
    """The campaign slug a draft-view token names, or None if forged or expired."""
    if not token:
        return None
    try:
        slug = _serializer("draft-view").loads(token, max_age=DRAFT_VIEW_MAX_AGE)
    except (BadSignature, SignatureExpired):
        return None
    return slug if isinstance(slug, str) else None


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


def origin_of(url: str) -> str:
    """The scheme://host[:port] of a URL, lower-cased, as browsers send it in Origin."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}".lower()


class FormOrigins:
    """The origins whose pages may post our forms: BASE_URL's, and any added per partner.

    Forms framed in a partner's page are still our pages (the iframe's document is ours),
    so they post with our own Origin. Should a partner ever host a form on their own site,
    their origin is allowed for submissions carrying their partner code, and only those.
    """

    def __init__(self, base_url: str) -> None:
        self.base = origin_of(base_url)
        self.by_partner: dict[str, frozenset[str]] = {}

    def allow_for_partner(self, partner: str, origins: list[str]) -> None:
        """Let pages on `origins` post forms carrying the partner code `partner`."""
        self.by_partner[partner] = frozenset(origin_of(o) for o in origins if origin_of(o))

    def allows(self, origin: str, partner: str | None = None) -> bool:
        """True when a page on `origin` may post a form (for `partner`, if given)."""
        origin = origin.strip().lower()
        if origin == self.base:
            return True
        return bool(partner) and origin in self.by_partner.get(partner or "", frozenset())


def form_origins() -> FormOrigins:
    """The app's origin allow-list, built from BASE_URL on first use."""
    origins: FormOrigins | None = current_app.extensions.get("form_origins")
    if origins is None:
        origins = FormOrigins(current_app.config["BASE_URL"])
        current_app.extensions["form_origins"] = origins
    return origins


def request_origin_problem(req: Request) -> str | None:
    """Why a POST seems to come from somebody else's page, or None.

    Compared with BASE_URL, never with the request's Host, which the client chooses. Origin
    decides; when it is missing or "null", Referer does. Browsers send Origin on every form
    POST (our pages use Referrer-Policy: same-origin, so theirs is a real origin, not
    "null"); a request with neither header did not come from a browser page, so it cannot
    be a forged cross-site submission, and the signed token alone stands.
    """
    partner = req.form.get("partner") or None
    origin = req.headers.get("Origin", "")
    if origin and origin != "null":
        return None if form_origins().allows(origin, partner) else "origin"
    referer = req.headers.get("Referer", "")
    if referer:
        return None if form_origins().allows(origin_of(referer), partner) else "referer"
    return "null origin" if origin == "null" else None


def _form_scope(form: BaseForm) -> str:
    """What a form token is bound to: the form's kind and the page's subject.

    The subject is the route's arguments (the campaign's slug, or the confirmation link),
    digested so tokens stay short; a token from one campaign's preview page is no use on
    another campaign, or on another kind of form.
    """
    view_args = request.view_args or {}
    subject = "&".join(f"{k}={v}" for k, v in sorted(view_args.items()))
    digest = hashlib.blake2s(subject.encode(), digest_size=8).hexdigest()
    return f"{type(form).__name__}:{digest}"


_VERIFIED_TOKENS_MAX = 256


def _check_signed_token(token: str, scope: str) -> None:
    """Verify a form token for a scope, remembering good ones until they expire.

    Tokens are shared for minutes (see generate_csrf_token), so most submissions carry a
    token this process has already verified; only unknown tokens pay for the HMAC.
    """
    verified: dict[tuple[str, str], float] = current_app.extensions.setdefault("csrf_verified", {})
    expires = verified.get((token, scope))
    if expires is not None and time.time() < expires:
        return
    payload, signed_at = _serializer("csrf").loads(
        token, max_age=CSRF_MAX_AGE, return_timestamp=True
    )
    if not isinstance(payload, list) or payload[:1] != [scope]:
        raise BadSignature("form token issued for another form")
    if len(verified) >= _VERIFIED_TOKENS_MAX:
        verified.clear()
    verified[(token, scope)] = signed_at.timestamp() + CSRF_MAX_AGE


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
    there. Instead the token is a signed, expiring nonce bound to the form and page it was
    issued for, and a POST must also come from a page of ours (see request_origin_problem):
    the framed form is itself served by us, so a forged cross-site submission fails.
    """

    def setup_form(self, form: BaseForm) -> list[tuple[str, Any]]:
        """Add the hidden csrf_token field to a form."""
        self.form_meta = form.meta
        self.form = form
        return super().setup_form(form)

    def generate_csrf_token(self, csrf_token_field: CSRFTokenField) -> str:
        """A signed nonce bound to this form and page, shared for a few minutes.

        The token is not tied to a person (there is no session to tie it to), so handing
        the same one to everybody for a short while loses nothing and saves signing one
        per form; it still expires CSRF_MAX_AGE after it was made.
        """
        scope = _form_scope(self.form)
        now = time.monotonic()
        tokens: dict[str, tuple[float, str]] = current_app.extensions.setdefault("csrf_tokens", {})
        cached = tokens.get(scope)
        if cached is None or now - cached[0] > CSRF_TOKEN_REUSE_SECONDS:
            if len(tokens) >= _VERIFIED_TOKENS_MAX:
                tokens.clear()
            cached = (now, _serializer("csrf").dumps([scope, secrets.token_urlsafe(8)]))
            tokens[scope] = cached
        return cached[1]

    def validate_csrf_token(self, form: BaseForm, field: CSRFTokenField) -> None:
        """Check the token's signature, age and form, and where the request came from."""
        if not current_app.config.get("CSRF_ENABLED", True):
            return
        try:
            _check_signed_token(field.data or "", _form_scope(form))
        except SignatureExpired as exc:
            raise ValidationError(
                "This form was open for too long. Please check your details and submit again."
            ) from exc
        except BadSignature as exc:
            raise ValidationError(
                "This form could not be verified. Please reload the page and try again."
            ) from exc
        if request_origin_problem(request):
            raise ValidationError(
                "This form must be submitted from our own site. If you opened it from a "
                "link, please go to our site directly and try again."
            )
