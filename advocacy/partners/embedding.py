"""The journey inside a partner's page: attribution carried on every URL, framing allowed.

Every journey URL carries one signed `via` value (see attribution.py). It is read before
each request, added to every journey URL the app builds (so templates need not think about
it), and decides two things: whose page the letter is credited to, and which sites may frame
the page (Content-Security-Policy: frame-ancestors). Pages outside the journey, and the
journey without a partner's frame, may be framed by nobody.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, request
from markupsafe import Markup, escape

from advocacy.extensions import db
from advocacy.models import Partner
from advocacy.partners import services
from advocacy.partners.attribution import (
    NOBODY,
    Attribution,
    clean_origin,
    clean_source,
    sign,
    verify,
)

# Endpoints of the journey itself; the confirmation link in the email opens the full site.
_CARRY_BLUEPRINTS = frozenset({"campaigns", "words", "signing"})
_ENTRY = "campaigns.campaign"
_NOT_CARRIED = frozenset({"campaigns.confirm", "campaigns.thanks", "campaigns.healthz"})


def init_app(app: Flask) -> None:
    """Install the hooks that carry attribution and decide framing."""
    app.before_request(_read_attribution)
    app.url_defaults(_carry_attribution)
    app.context_processor(_template_context)
    # A global, not context: the journey's form macros are imported without context.
    app.jinja_env.globals["carry_attribution"] = _carry_field


def current() -> Attribution:
    """The attribution of this request (nobody outside a request or without one)."""
    return g.get("attribution", NOBODY)


def current_partner() -> Partner | None:
    """The active partner this request is credited to, if any."""
    if "attribution_partner" not in g:
        g.attribution_partner = services.active_partner(db.session, current().partner)
    partner: Partner | None = g.attribution_partner
    return partner


def begin(*, partner_code: str, source: str, origin: str, embedded: bool) -> Attribution:
    """Start attribution for this request from an embed or a partner's link.

    An unknown or inactive partner credits nobody; an origin the partner did not allow is
    dropped, so the form never talks to a page that may not frame it.
    """
    partner = services.active_partner(db.session, partner_code)
    origin = clean_origin(origin)
    if partner is None or origin not in partner.origins:
        origin = ""
    attribution = Attribution(
        partner=partner.slug if partner else "",
        source=clean_source(source),
        origin=origin,
        is_embedded=embedded,
    )
    _use(attribution, partner)
    return attribution


def _use(attribution: Attribution, partner: Partner | None) -> None:
    g.attribution = attribution
    g.attribution_partner = partner
    g.via = sign(current_app.config["SECRET_KEY"], attribution)


def _read_attribution() -> None:
    # Start from nobody: an app context (and its `g`) can outlive one request.
    for name in ("attribution", "attribution_partner", "via", "frame_ancestors"):
        g.pop(name, None)
    if request.blueprint not in _CARRY_BLUEPRINTS:
        return
    # POST forms keep it in their action's query string; GET forms in a hidden field.
    token = request.args.get("via")
    if token:
        attribution = verify(current_app.config["SECRET_KEY"], token)
        g.attribution = attribution
        g.via = sign(current_app.config["SECRET_KEY"], attribution)
    elif request.endpoint == _ENTRY and (request.args.get("partner") or request.args.get("source")):
        # A plain link from a partner's site or newsletter to the campaign page
        # (?partner=CODE&source=TAG): the only place an unsigned code is read.
        begin(
            partner_code=request.args.get("partner", ""),
            source=request.args.get("source", ""),
            origin="",
            embedded=False,
        )


def _carry_attribution(endpoint: str, values: dict[str, Any]) -> None:
    via = g.get("via") if g else None
    if not via or endpoint in _NOT_CARRIED:
        return
    if endpoint.partition(".")[0] in _CARRY_BLUEPRINTS:
        values.setdefault("via", via)


def frame_ancestors() -> str:
    """The CSP frame-ancestors source list for this response."""
    explicit: str | None = g.get("frame_ancestors")
    if explicit:
        return explicit
    attribution = current()
    if not attribution.is_embedded:
        return "'none'"
    partner = current_partner()
    origins = partner.origins if partner is not None else ()
    return " ".join(("'self'", *origins))


def _template_context() -> dict[str, Any]:
    attribution = current()
    return {
        "embedded": attribution.is_embedded,
        "parent_origin": attribution.origin,
        "attribution_partner": current_partner() if attribution.partner else None,
    }


def _carry_field() -> Markup:
    """The hidden field GET forms need: a GET form's action loses its query string."""
    via = g.get("via")
    if not via:
        return Markup("")
    return Markup('<input type="hidden" name="via" value="{}">').format(escape(via))
