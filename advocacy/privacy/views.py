"""Public privacy pages: the policy, and seeing or erasing what is held about an address.

The first step answers the same whether or not the address is known, and sends nothing to
an address we hold nothing about, so the page cannot be used to learn who wrote, nor to
send mail to strangers. The signed link names the person by the keyed hash of the address,
never the address itself, and travels in the query string, which the documented proxy
configuration keeps out of access logs.
"""

from __future__ import annotations

import json
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from advocacy.campaigns import services as campaign_services
from advocacy.config import Settings
from advocacy.directory.service import Representative, get_directory
from advocacy.extensions import db, limiter
from advocacy.privacy import audit, moderation, policy, selfsend, services
from advocacy.privacy.forms import CountMeForm, EditedLetterForm, EraseForm, MyDataForm
from advocacy.privacy.registry import DataSubject
from advocacy.security import load_privacy_token
from advocacy.words.services import ReviewError

bp = Blueprint("privacy", __name__)


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _request_limit() -> str:
    return _settings().rate_limit_privacy


def _no_store(response: Any) -> Any:
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _policy() -> dict[str, Any]:
    """Every page's footer states the policy from the running settings (built once each)."""
    settings = _settings()
    cached: tuple[Settings, policy.Policy] | None = current_app.extensions.get("privacy_policy")
    if cached is None or cached[0] is not settings:
        cached = (settings, policy.build(settings))
        current_app.extensions["privacy_policy"] = cached
    return {"privacy_policy": cached[1]}


@bp.app_template_global()
def send_yourself(form: Any, rep: Representative) -> dict[str, Any]:
    """The preview page's "send it from my own email" links and its count-me form."""
    signature = selfsend.self_signature(
        form.name.data or "",
        form.address.data or "",
        form.postcode.data or "",
        form.email.data or "",
    )
    links = selfsend.compose_links(
        to=rep.email or "",
        subject=form.subject.data or "",
        body=form.body.data or "",
        signature=signature,
    )
    count_form = CountMeForm(formdata=None, constituency=rep.constituency_code)
    return {"links": links, "form": count_form}


def _send_limit() -> str:
    return _settings().rate_limit_send


@bp.post("/campaigns/<slug>/count-me")
@limiter.limit(_send_limit)
def count_me(slug: str) -> ResponseReturnValue:
    """After a letter sent from their own email: count it if asked, keep nothing else."""
    campaign = campaign_services.get_campaign(db.session, slug, _settings().campaign_cache_seconds)
    if campaign is None:
        abort(404)
    form = CountMeForm()
    if not form.validate():
        abort(400)
    rep = get_directory().by_constituency(form.constituency.data or "")
    if rep is None:
        abort(400)
    counted = bool(form.count_me.data) and campaign.is_live
    if counted:
        # The shared, cached campaign must not join this session: count by id.
        selfsend.count_self_sent(db.session, campaign, rep)
    return redirect(
        url_for("campaigns.thanks", slug=campaign.slug, self=1, counted=int(counted)), code=303
    )


@bp.get("/privacy")
def policy_page() -> ResponseReturnValue:
    """What we keep, why, and for how long, rule by rule."""
    return render_template("privacy/policy.html")


@bp.route("/privacy/my-data", methods=["GET", "POST"])
def my_data() -> ResponseReturnValue:
    """Ask for a link to see or erase what we hold about an address."""
    form = MyDataForm()
    if request.method == "GET":
        return _no_store(Response(render_template("privacy/my_data.html", form=form)))
    limiter.check(_request_limit(), "advocacy.privacy.my_data")
    if not form.validate():
        page = render_template("privacy/my_data.html", form=form)
        return _no_store(Response(page, status=422))
    subject = DataSubject.from_email(form.email.data or "", current_app.config["SECRET_KEY"])
    services.request_link(db.session, subject)
    return _no_store(Response(render_template("privacy/link_sent.html")))


def _subject_or_none() -> DataSubject | None:
    digest = load_privacy_token(request.args.get("t", ""))
    return None if digest is None else DataSubject(email="", digest=digest)


def _invalid() -> ResponseReturnValue:
    return _no_store(Response(render_template("privacy/link_invalid.html"), status=404))


@bp.get("/privacy/my-data/view")
def view_data() -> ResponseReturnValue:
    """Everything held about the address, readable, with download and erase."""
    subject = _subject_or_none()
    if subject is None:
        return _invalid()
    export = services.export_person(db.session, subject)
    page = render_template(
        "privacy/view.html",
        export=export,
        token=request.args["t"],
        form=EraseForm(),
    )
    return _no_store(Response(page))


@bp.get("/privacy/my-data/export.json")
def export_json() -> ResponseReturnValue:
    """Everything held about the address, as a JSON download."""
    subject = _subject_or_none()
    if subject is None:
        return _invalid()
    export = services.export_person(db.session, subject)
    response = Response(
        json.dumps(export.as_dict(), indent=2, ensure_ascii=False),
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-data.json"'},
    )
    return _no_store(response)


@bp.post("/privacy/my-data/erase")
def erase() -> ResponseReturnValue:
    """Erase everything held about the address, now."""
    subject = _subject_or_none()
    if subject is None:
        return _invalid()
    form = EraseForm()
    if not form.validate():
        export = services.export_person(db.session, subject)
        page = render_template(
            "privacy/view.html", export=export, token=request.args["t"], form=form
        )
        return _no_store(Response(page, status=422))
    erased = services.erase_person(db.session, subject)
    audit.record("privacy.erase", via="self-service link", rows=sum(erased.values()))
    return _no_store(Response(render_template("privacy/erased.html")))


@bp.route("/letters/review/<token>", methods=["GET", "POST"])
def review_edit(token: str) -> ResponseReturnValue:
    """A letter a reviewer edited: the writer reads it, may change it, and sends it or not."""
    letter = moderation.find_edited_letter(db.session, token)
    if letter is None:
        return _invalid()
    if not moderation.is_awaiting_writer(letter):
        page = render_template("privacy/review_done.html", letter=letter)
        return _no_store(Response(page))
    form = EditedLetterForm(data={"body": letter.body_text})
    message = None
    if request.method == "POST" and form.validate():
        try:
            moderation.accept_edit(db.session, letter, form.body.data or "", _settings())
        except ReviewError as exc:
            message = exc.message
        else:
            return redirect(url_for("campaigns.thanks", slug=letter.campaign.slug), code=303)
    status = 422 if request.method == "POST" else 200
    page = render_template("privacy/review.html", letter=letter, form=form, message=message)
    return _no_store(Response(page, status=status))
