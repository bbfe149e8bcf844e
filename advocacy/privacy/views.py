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

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue

from advocacy.config import Settings
from advocacy.extensions import db, limiter
from advocacy.privacy import audit, policy, services
from advocacy.privacy.forms import EraseForm, MyDataForm
from advocacy.privacy.registry import DataSubject
from advocacy.security import load_privacy_token

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
    """Every page's footer states the policy from the running settings."""
    return {"privacy_policy": policy.build(_settings())}


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
