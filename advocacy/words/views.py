"""The "check my words" hint: JSON for the page's script, and a plain form post without it.

Both answer from the server, so the words being written never leave the site, and neither
ever shows anyone else's words: only how many letters are close, and only when several are.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue

from advocacy.caching import never_store
from advocacy.campaigns import services as campaign_services
from advocacy.campaigns import views as campaign_views
from advocacy.campaigns.forms import LetterForm, PreviewForm
from advocacy.config import Settings
from advocacy.directory.service import Representative, get_directory
from advocacy.errors import json_error
from advocacy.extensions import db, limiter
from advocacy.models import Campaign, LetterTemplate
from advocacy.security import email_digest
from advocacy.words import services
from advocacy.words.services import Hint

bp = Blueprint("words", __name__)
# The plain form post re-renders the page with everything the person typed.
never_store(bp, ["words.check_page"])

# Both endpoints count against one look-up limit per address, so the plain form cannot be
# used to double the rate at which somebody probes the index.
LIMIT_SCOPE = "advocacy.words.check"


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _form() -> LetterForm:
    """The write form, or the preview form (with the edited body) when that page posted."""
    return PreviewForm() if request.form.get("words_page") == "preview" else LetterForm()


def _context(slug: str, form: LetterForm) -> tuple[Campaign, Representative, LetterTemplate]:
    campaign = campaign_services.get_campaign(db.session, slug, _settings().campaign_cache_seconds)
    if campaign is None:
        abort(404)
    chosen = form.recipient_choice()
    rep = get_directory().by_constituency(chosen.constituency_code) if chosen else None
    template = campaign.template(form.letter.data or "")
    if rep is None or rep.is_vacant or template is None:
        abort(404)
    return campaign, rep, template


def _hint(
    campaign: Campaign, rep: Representative, template: LetterTemplate, form: LetterForm
) -> Hint | None:
    texts = [form.personal_words.data or ""]
    if isinstance(form, PreviewForm):
        texts.append(form.body.data or "")
    email = (form.email.data or "").strip()
    return services.check_draft(
        db.session,
        campaign_id=campaign.id,
        template=template,
        constituency_code=rep.constituency_code,
        stock_context={
            "mp_name": rep.salutation_name,
            "constituency": rep.constituency_name,
            "sender_name": form.name.data or "",
        },
        texts=texts,
        mp_name=rep.name,
        settings=_settings(),
        email_digest=email_digest(email, current_app.config["SECRET_KEY"]) if email else None,
    )


@bp.post("/campaigns/<slug>/words.json")
def check_json(slug: str) -> ResponseReturnValue:
    """How close the words being written are to other letters, as JSON."""
    limiter.check(_settings().rate_limit_lookup, LIMIT_SCOPE)
    form = _form()
    if not form.csrf_token.validate(form):
        return json_error(400, "bad_form_token", " ".join(form.csrf_token.errors))
    campaign, rep, template = _context(slug, form)
    hint = _hint(campaign, rep, template, form)
    return jsonify(hint.as_dict() if hint else Hint(False, None).as_dict())


@bp.post("/campaigns/<slug>/words")
def check_page(slug: str) -> ResponseReturnValue:
    """The "check my words" button without JavaScript: the same page again, with the hint.

    Nothing is validated but the form token, so a half-written letter is shown back exactly
    as typed, without error messages about fields not filled in yet.
    """
    limiter.check(_settings().rate_limit_lookup, LIMIT_SCOPE)
    form = _form()
    campaign, rep, template = _context(slug, form)
    status = 200
    if form.csrf_token.validate(form):
        g.words_hint = _hint(campaign, rep, template, form)
    else:
        status = 400
    if isinstance(form, PreviewForm):
        return campaign_views._render_preview(campaign, rep, template, form, status)
    return campaign_views._render_write(campaign, rep, template, form, status)
