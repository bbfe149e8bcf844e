"""Partners in the staff workspace: owners manage them; each partner exports its consents.

Owners (MANAGE_PARTNERS) add and edit partners, see their snippets with a live preview and
export any partner's consents. A partner's own staff (VIEW_PARTNER_DASHBOARD) export only
the consents given to their organisation, found from their account, never from the URL.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from advocacy.dashboard.exports import stream_csv
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignStatus, Partner, PartnerConsent, Signature
from advocacy.partners import services
from advocacy.partners.forms import PartnerForm
from advocacy.workspace import views as workspace_views
from advocacy.workspace.access import (
    Permission,
    current_user,
    record_event,
    register_nav,
    require,
)
from advocacy.workspace.views import notify

bp = Blueprint("partners_admin", __name__, url_prefix="/workspace")
# The workspace's own page set-up: a notice shown once, nothing kept in a cache.
bp.before_request(workspace_views._load_staff)
bp.after_request(workspace_views._no_store)

register_nav(
    "partners_admin.partners", "Partners", Permission.MANAGE_PARTNERS, after="workspace.staff"
)
register_nav(
    "partners_admin.my_consents",
    "Consents",
    Permission.VIEW_PARTNER_DASHBOARD,
    after="dashboard.partner_overview",
)

CONSENT_HEADER = ("name", "email", "campaign", "wording_version", "wording", "agreed_at")


def _partner_or_404(partner_id: int) -> Partner:
    partner = db.session.get(Partner, partner_id)
    if partner is None:
        abort(404)
    return partner


def _details(form: PartnerForm) -> services.PartnerDetails:
    return services.PartnerDetails(
        slug=(form.slug.data or "").lower(),
        name=form.name.data or "",
        website=form.website.data or "",
        allowed_origins=services.parse_origins(form.allowed_origins.data or ""),
        contact_email=form.contact_email.data or "",
        accent_colour=form.accent_colour.data or "",
        consent_wording=form.consent_wording.data or "",
        is_figures_public=bool(form.is_figures_public.data),
        is_active=bool(form.is_active.data),
    )


def _live_campaigns() -> list[Campaign]:
    return list(
        db.session.scalars(
            select(Campaign).where(Campaign.status == CampaignStatus.LIVE).order_by(Campaign.title)
        )
    )


@bp.get("/partners")
@require(Permission.MANAGE_PARTNERS)
def partners() -> ResponseReturnValue:
    """Every partner, with what its pages brought in."""
    signed = dict(
        db.session.execute(
            select(Signature.partner_id, func.count(Signature.id)).group_by(Signature.partner_id)
        ).all()
    )
    consents = dict(
        db.session.execute(
            select(PartnerConsent.partner_id, func.count(PartnerConsent.id))
            .where(PartnerConsent.confirmed_at.is_not(None))
            .group_by(PartnerConsent.partner_id)
        ).all()
    )
    return render_template(
        "partners/admin/list.html",
        partners=services.list_partners(db.session),
        signed=signed,
        consents=consents,
    )


def _edit_page(form: PartnerForm, partner: Partner | None, message: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    return (
        render_template("partners/admin/edit.html", form=form, partner=partner, message=message),
        status,
    )


@bp.route("/partners/new", methods=["GET", "POST"])
@require(Permission.MANAGE_PARTNERS)
def new_partner() -> ResponseReturnValue:
    """Add a partner."""
    form = PartnerForm()
    if not form.is_submitted():
        return _edit_page(form, None)
    return _save(form, None)


@bp.route("/partners/<int:partner_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_PARTNERS)
def edit_partner(partner_id: int) -> ResponseReturnValue:
    """Change a partner; a changed consent wording becomes a new version."""
    partner = _partner_or_404(partner_id)
    form = PartnerForm(obj=partner)
    if not form.is_submitted():
        form.allowed_origins.data = partner.allowed_origins
        form.consent_wording.data = partner.current_wording.text if partner.current_wording else ""
        return _edit_page(form, partner)
    return _save(form, partner)


def _save(form: PartnerForm, partner: Partner | None) -> ResponseReturnValue:
    if not form.validate():
        return _edit_page(form, partner, status=422)
    session = db.session
    try:
        saved = services.save_partner(session, _details(form), partner)
    except services.PartnerError as exc:
        session.rollback()
        return _edit_page(form, partner, str(exc), 422)
    session.commit()
    record_event(
        "partner.created" if partner is None else "partner.updated",
        target=f"partner:{saved.slug}",
        origins=len(saved.origins),
        wording_version=saved.wordings[-1].version if saved.wordings else 0,
    )
    notify(f"{saved.name} is saved.")
    return redirect(url_for("partners_admin.partner", partner_id=saved.id), code=303)


@bp.get("/partners/<int:partner_id>")
@require(Permission.MANAGE_PARTNERS)
def partner(partner_id: int) -> ResponseReturnValue:
    """A partner's snippets for each live campaign, with a live preview, and its wordings."""
    found = _partner_or_404(partner_id)
    base = current_app.config["BASE_URL"]
    return render_template(
        "partners/admin/partner.html",
        partner=found,
        campaigns=_live_campaigns(),
        base=base,
    )


def _consents_csv(partner: Partner) -> Response:
    rows: Iterator[tuple[object, ...]] = (
        (r.name, r.email, r.campaign, r.wording_version, r.wording, r.agreed_at.isoformat())
        for r in services.iter_consents(db.session, partner.id)
    )
    response = Response(stream_csv(CONSENT_HEADER, rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{partner.slug}-consents.csv"'
    return response


@bp.get("/partners/<int:partner_id>/consents.csv")
@require(Permission.MANAGE_PARTNERS)
def partner_consents(partner_id: int) -> ResponseReturnValue:
    """Owners: the people who agreed to hear from this partner, with the wording they saw."""
    found = _partner_or_404(partner_id)
    record_event("export.partner_consents", target=f"partner:{found.slug}")
    return _consents_csv(found)


@bp.get("/partner/consents")
@require(Permission.VIEW_PARTNER_DASHBOARD)
def my_consents() -> ResponseReturnValue:
    """A partner's staff: how many agreed to hear from them, and the export."""
    found = _own_partner()
    count = (
        db.session.scalar(
            select(func.count(PartnerConsent.id)).where(
                PartnerConsent.partner_id == found.id, PartnerConsent.confirmed_at.is_not(None)
            )
        )
        if found
        else 0
    )
    return render_template("partners/admin/my_consents.html", partner=found, count=count or 0)


@bp.get("/partner/consents.csv")
@require(Permission.VIEW_PARTNER_DASHBOARD)
def my_consents_csv() -> ResponseReturnValue:
    """A partner's staff: only the people who ticked their own organisation's box."""
    found = _own_partner()
    if found is None:
        abort(404)
    record_event("export.partner_consents", target=f"partner:{found.slug}")
    return _consents_csv(found)


def _own_partner() -> Partner | None:
    user = current_user()
    partner_id = user.partner_id if user is not None else None
    return db.session.get(Partner, partner_id) if partner_id is not None else None
