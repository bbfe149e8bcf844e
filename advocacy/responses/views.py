"""Views of MP responses: the Inbound Parse webhook, the questionnaire's answer page, the
public responses.json, and the staff screen with its CSV export."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterator
from typing import IO

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    stream_with_context,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.http import parse_options_header

from advocacy.campaigns.services import get_campaign
from advocacy.config import Settings
from advocacy.dashboard.exports import stream_csv
from advocacy.errors import json_error
from advocacy.extensions import db
from advocacy.models import Campaign, Letter, ReplyAnswer, ReplyQuestionnaire, Usefulness
from advocacy.responses import figures as response_figures
from advocacy.responses import questionnaire as questions
from advocacy.responses import services
from advocacy.responses.inbound import MalformedPost, PostTooLarge, read_parts, understand
from advocacy.responses.tokens import load_questionnaire_token
from advocacy.workspace.access import Permission, record_event, register_nav, require

logger = logging.getLogger(__name__)

bp = Blueprint("responses", __name__)
inbound_bp = Blueprint("inbound", __name__, url_prefix="/webhooks/sendgrid")
staff_bp = Blueprint("responses_staff", __name__, url_prefix="/workspace")
register_nav("responses_staff.overall", "MP replies", Permission.VIEW_DASHBOARD)

CHUNK = 64 * 1024


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _chunks(stream: IO[bytes], length: int | None) -> Iterator[bytes]:
    """The body in reads of at most CHUNK bytes (no read past a known length)."""
    remaining = length
    while remaining is None or remaining > 0:
        chunk = stream.read(CHUNK if remaining is None else min(CHUNK, remaining))
        if not chunk:
            return
        if remaining is not None:
            remaining -= len(chunk)
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
        parts = read_parts(_chunks(request.stream, length), boundary.encode("latin-1"), limit)
    except (PostTooLarge, RequestEntityTooLarge):
        logger.info("inbound message ignored: over the %d byte limit", limit)
        response = _done("ignored: too large")
        response.headers["Connection"] = "close"
        return response
    except MalformedPost:
        return json_error(400, "malformed", "The multipart body cannot be parsed.")
    reply = understand(parts, settings.secret_key)
    if db.engine is None:
        raise RuntimeError("database is not configured")
    report = services.record_reply(db.engine, reply, settings.secret_key)
    # Counts only; one line per message is kept for debugging, as the webhook is busy.
    level = logging.WARNING if report.forged else logging.DEBUG
    logger.log(
        level,
        "inbound message: %d recorded, %d ignored, %d forged tokens (%s)",
        report.recorded,
        report.ignored,
        report.forged,
        "automatic" if reply.is_automatic else "reply",
    )
    return _done("recorded" if report.recorded else "ignored")


# The questionnaire ------------------------------------------------------------------------


def _letter_for(token: str) -> Letter | None:
    public_id = load_questionnaire_token(token)
    if public_id is None:
        return None
    return services.letter_by_public_id(db.session, public_id)


def _answer_page(
    token: str,
    letter: Letter,
    questionnaire: ReplyQuestionnaire | None,
    *,
    recorded: bool = False,
    offer: bool = False,
) -> ResponseReturnValue:
    current = None
    if questionnaire is not None and questionnaire.answer is not None:
        current = questions.ANSWER_LABELS[ReplyAnswer(questionnaire.answer)]
        if questionnaire.usefulness is not None:
            useful = questions.USEFULNESS_LABELS[Usefulness(questionnaire.usefulness)]
            current = f"{current} ({useful.lower()})"
    response = Response(
        render_template(
            "responses/answer.html",
            campaign=letter.campaign,
            letter=letter,
            token=token,
            questionnaire=questionnaire,
            recorded=recorded,
            current_label=current,
            offer_write_again=offer,
            answer_labels={a.value: label for a, label in questions.ANSWER_LABELS.items()},
            usefulness_labels={u.value: label for u, label in questions.USEFULNESS_LABELS.items()},
        )
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid() -> ResponseReturnValue:
    return render_template("responses/invalid.html"), 404


@bp.get("/letters/reply/<token>")
def questionnaire(token: str) -> ResponseReturnValue:
    """The answer page without an answer: what was said so far, and the choices."""
    letter = _letter_for(token)
    if letter is None:
        return _invalid()
    return _answer_page(token, letter, db.session.get(ReplyQuestionnaire, letter.id))


@bp.get("/letters/reply/<token>/<value>")
def answer(token: str, value: str) -> ResponseReturnValue:
    """Record a one-click answer to "Has your MP replied?" (and let it be changed)."""
    letter = _letter_for(token)
    if letter is None or value not in set(ReplyAnswer):
        return _invalid()
    row, offer = questions.record_answer(db.session, letter, answer=ReplyAnswer(value))
    db.session.commit()
    return _answer_page(token, letter, row, recorded=True, offer=offer)


@bp.get("/letters/reply/<token>/useful/<value>")
def useful(token: str, value: str) -> ResponseReturnValue:
    """Record whether a detected reply was useful."""
    letter = _letter_for(token)
    if letter is None or value not in set(Usefulness):
        return _invalid()
    row, offer = questions.record_answer(db.session, letter, usefulness=Usefulness(value))
    db.session.commit()
    return _answer_page(token, letter, row, recorded=True, offer=offer)


# Figures ----------------------------------------------------------------------------------


@bp.get("/campaigns/<slug>/responses.json")
def responses_json(slug: str) -> ResponseReturnValue:
    """Per-MP reply counts for the public (no personal data), cached like count.json."""
    settings = _settings()
    campaign = get_campaign(db.session, slug, settings.campaign_cache_seconds)
    if campaign is None:
        abort(404)
    figures = response_figures.cached(db.session, campaign, settings.count_cache_seconds)
    response = jsonify(response_figures.public_json(campaign, figures))
    max_age = max(int(settings.count_cache_seconds), 0)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _staff_campaign(slug: str) -> Campaign:
    campaign = services.campaign_by_slug(db.session, slug)
    if campaign is None:
        abort(404)
    return campaign


def _staff_page(campaign: Campaign | None) -> ResponseReturnValue:
    figures = response_figures.compute(db.session, campaign)
    return render_template(
        "responses/staff.html",
        campaign=campaign,
        figures=figures,
        chart=response_figures.histogram_chart(figures),
        map=response_figures.rate_map(figures),
        too_few=response_figures.TOO_FEW,
        min_letters=response_figures.RANK_MIN_LETTERS,
        min_informed=response_figures.RANK_MIN_INFORMED,
    )


@staff_bp.get("/responses")
@require(Permission.VIEW_DASHBOARD)
def overall() -> ResponseReturnValue:
    """MP replies across every campaign."""
    return _staff_page(None)


@staff_bp.get("/campaigns/<slug>/responses")
@require(Permission.VIEW_DASHBOARD)
def campaign_responses(slug: str) -> ResponseReturnValue:
    """One campaign's MP replies: rates, times, by MP and party, and the map."""
    return _staff_page(_staff_campaign(slug))


@staff_bp.get("/campaigns/<slug>/responses.csv")
@require(Permission.EXPORT_AGGREGATE)
def campaign_responses_csv(slug: str) -> ResponseReturnValue:
    """The campaign's reply figures as CSV (counts only), audited."""
    campaign = _staff_campaign(slug)
    rows = list(response_figures.csv_rows(response_figures.compute(db.session, campaign)))
    record_event("responses.export", target=f"campaign:{campaign.id}", rows=len(rows) - 1)
    response = Response(stream_with_context(stream_csv(rows[0], rows[1:])), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{campaign.slug}-mp-replies.csv"'
    )
    return response
