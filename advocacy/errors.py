"""Error pages and JSON errors: a plain explanation and a next step, never a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError
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


HEADINGS = {
    404: "Page not found",
    413: "That was too long",
    429: "Too many requests",
    500: "Sorry, something went wrong",
}


def _campaign_of_request() -> Any:
    """The live campaign the failed page belonged to, for a link back to it, or None."""
    slug = (request.view_args or {}).get("slug")
    if not slug:
        return None
    from advocacy.campaigns import services
    from advocacy.extensions import db

    try:
        return services.get_campaign(
            db.session, str(slug), current_app.config["SETTINGS"].campaign_cache_seconds
        )
    except SQLAlchemyError:
        # The page is already an error; a database that cannot answer only loses the link.
        logger.warning("no campaign link on an error page: the database did not answer")
        return None


def error_page(status: int, message: str) -> str:
    """An error page: what happened and where to go from here."""
    campaign = _campaign_of_request() if status != 500 else None
    return render_template(
        "error.html",
        status=status,
        heading=HEADINGS.get(status, "Sorry"),
        message=message,
        campaign=campaign,
    )


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
        return error_page(status, message), status, headers

    @app.errorhandler(Exception)
    def _unhandled(exc: Exception) -> ResponseReturnValue:
        logger.exception("unhandled error on %s %s", request.method, request.endpoint)
        if wants_json():
            return json_error(500, "internal_error", MESSAGES[500])
        return error_page(500, MESSAGES[500]), 500
