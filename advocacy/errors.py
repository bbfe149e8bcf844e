"""Error pages and JSON errors: a plain explanation and a next step, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

logger = logging.getLogger(__name__)

MESSAGES = {
    400: "Something in that request did not make sense to us.",
    404: "We could not find that page.",
    405: "That page cannot be used that way.",
    413: "That was more text than we can accept. Please shorten it and try again.",
    429: "Too many requests in a short time. Please wait a minute and try again.",
    500: "Something went wrong on our side. Nothing you wrote has been lost; please try again.",
}


def wants_json() -> bool:
    """True for the JSON API and clients that ask for JSON."""
    return request.path.endswith(".json") or request.path.startswith(("/api/", "/webhooks/"))


def json_error(
    status: int, code: str, message: str, headers: list[tuple[str, str]] | None = None
) -> ResponseReturnValue:
    """The JSON API's one error shape."""
    return jsonify({"error": {"code": code, "message": message}}), status, headers or []


def init_app(app: Flask) -> None:
    """Register the error handlers."""

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> ResponseReturnValue:
        status = exc.code or 500
        message = MESSAGES.get(status, exc.description or "")
        # Keep what the exception says beside its body: Retry-After on a 429, Allow on a 405.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return json_error(status, code, message, headers)
        return render_template("error.html", status=status, message=message), status, headers

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> ResponseReturnValue:
        logger.exception("unhandled error on %s %s", request.method, request.endpoint)
        if wants_json():
            return json_error(500, "internal_error", MESSAGES[500])
        return render_template("error.html", status=500, message=MESSAGES[500]), 500
