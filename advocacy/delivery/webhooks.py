"""Provider webhooks."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from advocacy.delivery.events import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    InvalidWebhook,
    apply_events,
    check_signed_request,
)
from advocacy.errors import json_error

logger = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

# SendGrid posts events in batches that can be far larger than any form of ours.
MAX_EVENT_POST = 8 * 1024 * 1024


@bp.before_request
def _allow_event_batches() -> None:
    request.max_content_length = MAX_EVENT_POST


@bp.post("/sendgrid/events")
def sendgrid_events() -> ResponseReturnValue:
    """Apply a signed batch of SendGrid delivery events."""
    public_key = current_app.config["SETTINGS"].sendgrid_webhook_public_key
    if not public_key:
        # Refused with a 5xx so SendGrid keeps retrying until someone sets the key.
        logger.error("SendGrid event post refused: SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
        return json_error(503, "not_configured", "Event webhook verification is not set up.")
    payload = request.get_data(cache=True)
    try:
        check_signed_request(
            public_key,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            payload,
            now=time.time(),
        )
    except InvalidWebhook as exc:
        logger.warning("SendGrid event post refused: %s", exc)
        return json_error(403, "invalid_signature", "The request is not correctly signed.")
    try:
        events = json.loads(payload)
    except ValueError:
        return json_error(400, "invalid_json", "The body must be a JSON array of events.")
    if not isinstance(events, list):
        return json_error(400, "invalid_json", "The body must be a JSON array of events.")
    report = apply_events(events)
    logger.info(
        "SendGrid events: %d applied, %d recorded, %d duplicate, %d stale, %d refused, "
        "%d unmatched, %d invalid",
        report.applied,
        report.recorded,
        report.duplicate,
        report.stale,
        report.refused,
        report.unmatched,
        report.invalid,
    )
    return jsonify(asdict(report)), 200
