"""Form tokens: signed, expiring, verified once per process while they are fresh."""

from __future__ import annotations

import time

import pytest
from flask import Flask
from itsdangerous import BadSignature, SignatureExpired

from advocacy import security


def test_check_signed_token_remembers_good_tokens_until_they_expire(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    with app.test_request_context():
        token = security._serializer("csrf").dumps("nonce")
        security._check_signed_token(token)
        assert token in app.extensions["csrf_verified"]
        security._check_signed_token(token)  # from memory
        later = time.time() + security.CSRF_MAX_AGE + 5
        monkeypatch.setattr(time, "time", lambda: later)
        with pytest.raises(SignatureExpired):
            security._check_signed_token(token)


def test_check_signed_token_refuses_tampered_tokens(app: Flask) -> None:
    with app.test_request_context():
        token = security._serializer("csrf").dumps("nonce")
        with pytest.raises(BadSignature):
            security._check_signed_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
        assert app.extensions.get("csrf_verified", {}) == {}


def test_generate_csrf_token_is_shared_for_a_while_then_renewed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    csrf = security.SignedTokenCSRF()
    with app.test_request_context():
        first = csrf.generate_csrf_token(None)  # type: ignore[arg-type]
        assert csrf.generate_csrf_token(None) == first  # type: ignore[arg-type]
        later = time.monotonic() + security.CSRF_TOKEN_REUSE_SECONDS + 1
        monkeypatch.setattr(time, "monotonic", lambda: later)
        assert csrf.generate_csrf_token(None) != first  # type: ignore[arg-type]


def test_no_page_sets_a_cookie_and_sessions_cannot_be_written(app: Flask) -> None:
    from flask import session

    client = app.test_client()
    for path in ["/", "/healthz", "/campaigns/nope", "/api/mp?constituency=X"]:
        assert "Set-Cookie" not in client.get(path).headers
    with app.test_request_context(), pytest.raises(RuntimeError):
        session["anything"] = "value"
