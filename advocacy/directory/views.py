"""JSON API of the MP directory: `GET /api/mp?postcode=...` or `?constituency=<GSS code>`."""

from __future__ import annotations

import math

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue

import postcode_lookup as pl
from advocacy.directory.service import Representative, get_directory
from advocacy.errors import json_error
from advocacy.extensions import limiter
from advocacy.ratelimit import LOOKUP_SCOPE

bp = Blueprint("directory", __name__, url_prefix="/api")

# Most specific first: PostcodeTerminated is a PostcodeNotFound, BFPOPostcode and
# OverseasPostcode are OutsideParliament. The error's own `code` goes in the answer.
_STATUS: tuple[tuple[type[pl.PostcodeLookupError], int], ...] = (
    (pl.InvalidPostcode, 422),
    (pl.PostcodeNotFound, 404),
    (pl.OutsideParliament, 404),
    (pl.LookupUnavailable, 503),
)


def _lookup_error(exc: pl.PostcodeLookupError) -> ResponseReturnValue:
    status = next((s for kind, s in _STATUS if isinstance(exc, kind)), 422)
    headers = []
    if isinstance(exc, pl.LookupUnavailable) and exc.retry_after is not None:
        headers.append(("Retry-After", str(max(1, math.ceil(exc.retry_after)))))
    return json_error(status, exc.code, exc.message, headers)


def _as_json(rep: Representative) -> dict[str, object]:
    mp = None
    if not rep.is_vacant:
        mp = {
            "member_id": rep.member_id,
            "name": rep.name,
            "party": rep.party,
            "has_email": rep.email is not None,
        }
    return {
        "postcode": rep.postcode,
        "constituency": {"code": rep.constituency_code, "name": rep.constituency_name},
        "mp": mp,
        "vacant": rep.is_vacant,
    }


def _lookup_limit() -> str:
    return str(current_app.config["SETTINGS"].rate_limit_lookup)


@bp.get("/mp")
@limiter.limit(_lookup_limit, scope=LOOKUP_SCOPE)
def find_mp() -> ResponseReturnValue:
    """The constituency and MP for a postcode, or for a constituency's GSS code."""
    args = request.args
    has_postcode, has_code = "postcode" in args, "constituency" in args
    if has_postcode == has_code:
        return json_error(
            400,
            "bad_query",
            "Give either a postcode or a constituency code, e.g. ?postcode=SW1A1AA.",
        )
    directory = get_directory()
    if has_code:
        code = args["constituency"].strip().upper()
        rep = directory.by_constituency(code) if code else None
        if rep is None:
            return json_error(
                404, "constituency_not_found", "There is no current constituency with that code."
            )
    else:
        try:
            rep = directory.find_by_postcode(args["postcode"])
        except pl.PostcodeLookupError as exc:
            return _lookup_error(exc)
    response = jsonify(_as_json(rep))
    # A postcode says where someone lives: browsers may keep the answer, shared caches not.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response
