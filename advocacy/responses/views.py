"""Views of MP responses: the Inbound Parse webhook."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import IO

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from advocacy.config import Settings
from advocacy.errors import json_error
from advocacy.extensions import db
from advocacy.responses import services
from advocacy.responses.inbound import MalformedPost, PostTooLarge, read_parts, understand

logger = logging.getLogger(__name__)

inbound_bp = Blueprint("inbound", __name__, url_prefix="/webhooks/sendgrid")

CHUNK = 64 * 1024


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            return
        yield chunk


def _done(outcome: str) -> Response:
    """200 for everything understood or deliberately ignored: SendGrid retries the rest."""
    return Response(outcome + "\n", status=200, mimetype="text/plain")


@inbound_bp.post("/inbound/<secret>")
def inbound_parse(secret: str) -> ResponseReturnValue:
    """Record that a letter's MP replied (and whether automatically); keep nothing else."""
    settings = _settings()
    expected = settings.inbound_parse_secret
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        abort(404)
    limit = settings.inbound_parse_max_bytes
    length = request.content_length
    if length is not None and length > limit:
        # Refused unread: nothing in an oversized post is worth reading to learn that a
        # reply arrived, and reading it would cost memory and time.
        logger.info("inbound message ignored: %d bytes is over the %d byte limit", length, limit)
        response = _done("ignored: too large")
        response.headers["Connection"] = "close"
        return response
    mimetype, options = parse_options_header(request.headers.get("Content-Type", ""))
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        return json_error(400, "not_multipart", "Inbound Parse posts are multipart/form-data.")
    request.max_content_length = limit
    try:
        parts = read_parts(_chunks(request.stream), boundary.encode("latin-1"), limit)
    except (PostTooLarge, RequestEntityTooLarge):
        logger.info("inbound message ignored: over the %d byte limit", limit)
        response = _done("ignored: too large")
        response.headers["Connection"] = "close"
        return response
    except MalformedPost:
        return json_error(400, "malformed", "The multipart body cannot be parsed.")
    reply = understand(parts, settings.secret_key)
    report = services.record_reply(db.session, reply, settings.secret_key)
    db.session.commit()
    logger.info(
        "inbound message: %d recorded, %d ignored, %d forged tokens (%s)",
        report.recorded,
        report.ignored,
        report.forged,
        "automatic" if reply.is_automatic else "reply",
    )
    return _done("recorded" if report.recorded else "ignored")
