"""Public partner routes: the embed script, the embedded journey's entry, the counter."""

from __future__ import annotations

import functools

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from advocacy.campaigns import services as campaign_services
from advocacy.config import PROJECT_ROOT
from advocacy.extensions import db
from advocacy.partners import embedding, services

bp = Blueprint("partners", __name__)

_STATIC = PROJECT_ROOT / "advocacy" / "static" / "embed"


@functools.cache
def _embed_script() -> bytes:
    return (_STATIC / "embed.js").read_bytes()


@bp.get("/embed.js")
def embed_script() -> ResponseReturnValue:
    """The one-line embed: inserts the form's iframe where the script stands."""
    response = current_app.response_class(_embed_script(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=3600"
    # Partners' pages load it from another site.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@bp.get("/embed/<slug>")
def embed(slug: str) -> ResponseReturnValue:
    """The journey's first step in the compact layout, credited to the partner."""
    settings = current_app.config["SETTINGS"]
    camp = campaign_services.get_campaign(db.session, slug, settings.campaign_cache_seconds)
    if camp is None:
        abort(404)
    embedding.begin(
        partner_code=request.args.get("partner", ""),
        source=request.args.get("source", ""),
        origin=request.args.get("origin", ""),
        embedded=True,
    )
    # The same pages as the full site, in the compact layout; every link keeps `via`.
    return redirect(url_for("campaigns.campaign", slug=camp.slug), code=303)


@bp.get("/embed/<slug>/counter")
def counter(slug: str) -> ResponseReturnValue:
    """A small thermometer (count and goal) for a partner's page; public figures only."""
    settings = current_app.config["SETTINGS"]
    camp = campaign_services.get_campaign(db.session, slug, settings.campaign_cache_seconds)
    if camp is None:
        abort(404)
    count = campaign_services.signature_count(db.session, camp, settings.count_cache_seconds)
    # Nothing to click and nothing personal on it, so any page may show it.
    g.frame_ancestors = "*"
    response = current_app.make_response(
        render_template("partners/counter.html", campaign=camp, count=count)
    )
    response.headers["Cache-Control"] = (
        f"public, max-age={max(int(settings.count_cache_seconds), 0)}"
    )
    return response


@bp.get("/embed/partner/<code>.css")
def accent(code: str) -> ResponseReturnValue:
    """The partner's accent colour as a style sheet (the CSP allows no inline styles)."""
    partner = services.active_partner(db.session, code)
    colour = partner.accent_colour if partner is not None and partner.accent_colour else ""
    body = f":root {{ --accent: {colour}; }}\n" if colour else ""
    response = current_app.response_class(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
