"""Form tokens: signed, expiring, bound to their form and page; origins checked."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from itsdangerous import BadSignature, SignatureExpired

from advocacy import security
from advocacy.campaigns.forms import ConfirmForm, LetterForm, PreviewForm

WRITE = "/campaigns/stand-with-the-uyghurs/write"
PREVIEW = "/campaigns/stand-with-the-uyghurs/preview"


def _token(app: Flask, form_class: type, path: str) -> str:
    """The token a page at `path` would put in a `form_class` form."""
    with app.test_request_context(path):
        app.preprocess_request()
        return str(form_class(formdata=None).csrf_token.current_token)


def _scope(app: Flask, form_class: type, path: str) -> str:
    with app.test_request_context(path, method="POST"):
        app.preprocess_request()
        return security._form_scope(form_class(formdata=None))


def test_check_signed_token_remembers_good_tokens_until_they_expire(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.test_request_context():
        token = security._serializer("csrf").dumps(["scope", "nonce"])
        security._check_signed_token(token, "scope")
        assert (token, "scope") in app.extensions["csrf_verified"]
        security._check_signed_token(token, "scope")  # from memory
        later = time.time() + security.CSRF_MAX_AGE + 5
        monkeypatch.setattr(time, "time", lambda: later)
        with pytest.raises(SignatureExpired):
            security._check_signed_token(token, "scope")


def test_check_signed_token_refuses_tampered_tokens(app: Flask) -> None:
    with app.test_request_context():
        token = security._serializer("csrf").dumps(["scope", "nonce"])
        with pytest.raises(BadSignature):
            security._check_signed_token(
                token[:-2] + ("AA" if token[-2:] != "AA" else "BB"), "scope"
            )
        assert app.extensions.get("csrf_verified", {}) == {}


def test_a_token_is_bound_to_its_form_and_campaign(app: Flask) -> None:
    token = _token(app, LetterForm, WRITE)
    with app.test_request_context():
        security._check_signed_token(token, _scope(app, LetterForm, PREVIEW))
        for other in (
            _scope(app, PreviewForm, PREVIEW),  # another form on the same campaign
            _scope(app, LetterForm, "/campaigns/another-campaign/preview"),
            _scope(app, ConfirmForm, "/letters/confirm/abc"),
        ):
            with pytest.raises(BadSignature):
                security._check_signed_token(token, other)


def test_an_old_style_unbound_token_is_refused(app: Flask) -> None:
    with app.test_request_context():
        token = security._serializer("csrf").dumps("nonce")
        with pytest.raises(BadSignature):
            security._check_signed_token(token, _scope(app, LetterForm, PREVIEW))


def test_a_token_lives_two_hours_for_everybody_and_no_longer(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert security.CSRF_LIFETIME == 2 * 3600
    # Served at the very end of a sharing window, a token still has its two hours.
    assert security.CSRF_MAX_AGE - security.CSRF_TOKEN_REUSE_SECONDS >= security.CSRF_LIFETIME
    token = _token(app, LetterForm, WRITE)
    scope = _scope(app, LetterForm, PREVIEW)
    now = time.time()
    with app.test_request_context():
        monkeypatch.setattr(time, "time", lambda: now + security.CSRF_LIFETIME)
        security._check_signed_token(token, scope)
        app.extensions["csrf_verified"].clear()
        monkeypatch.setattr(time, "time", lambda: now + security.CSRF_MAX_AGE + 5)
        with pytest.raises(SignatureExpired):
            security._check_signed_token(token, scope)


def test_generate_csrf_token_is_shared_for_a_while_then_renewed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _token(app, LetterForm, WRITE)
    assert _token(app, LetterForm, WRITE) == first
    assert _token(app, PreviewForm, PREVIEW) != first
    later = time.monotonic() + security.CSRF_TOKEN_REUSE_SECONDS + 1
    monkeypatch.setattr(time, "monotonic", lambda: later)
    assert _token(app, LetterForm, WRITE) != first


def test_form_origins_allow_base_url_and_partners_only_for_their_own_forms() -> None:
    origins = security.FormOrigins("https://letters.example/")
    assert origins.allows("https://letters.example")
    assert origins.allows("HTTPS://Letters.Example")
    assert not origins.allows("http://letters.example")  # another scheme is another origin
    assert not origins.allows("https://letters.example:8443")
    assert not origins.allows("https://partner.example")
    origins.allow_for_partner("uyghur-aid", ["https://partner.example/embed"])
    assert origins.allows("https://partner.example", "uyghur-aid")
    assert not origins.allows("https://partner.example")
    assert not origins.allows("https://partner.example", "another-partner")


def test_no_page_sets_a_cookie_and_sessions_cannot_be_written(app: Flask) -> None:
    from flask import session

    client = app.test_client()
    for path in ["/", "/healthz", "/campaigns/nope", "/api/mp?constituency=X"]:
        assert "Set-Cookie" not in client.get(path).headers
    with app.test_request_context(), pytest.raises(RuntimeError):
        session["anything"] = "value"
