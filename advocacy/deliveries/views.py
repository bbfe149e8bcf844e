"""Delivery screens: a campaign's fixed targets, its delivery schedule and its bundles."""

from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from advocacy import kinds
from advocacy.deliveries.forms import DemandsForm, ScheduleForm, TargetForm
from advocacy.extensions import db
from advocacy.kinds import bundles, events, nominations, pledge, printed, targets
from advocacy.models import Campaign, DeliveryBundle, LetterEvent, Nomination, Target
from advocacy.workspace.access import Permission, record_event, register_nav, require
from advocacy.workspace.forms import ActionForm

bp = Blueprint("deliveries", __name__, url_prefix="/workspace/deliveries")


@bp.after_request
def _no_store(response: Response) -> Response:
    # Bundles hold signers' names: never keep these pages in a shared cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


register_nav("deliveries.index", "Deliveries", Permission.VIEW_CAMPAIGNS, after="editor.campaigns")


def _has_targets(campaign: Campaign) -> bool:
    try:
        kind = kinds.for_campaign(campaign)
    except kinds.UnsupportedKind:
        return False
    return kind.delivery in {kinds.Delivery.BUNDLE, kinds.Delivery.PRINT, kinds.Delivery.COUNT}


def _campaign_or_404(slug: str) -> Campaign:
    campaign = targets.campaign_by_slug(db.session, slug)
    if campaign is None or not _has_targets(campaign):
        abort(404)
    return campaign


@bp.get("/")
@require(Permission.VIEW_CAMPAIGNS)
def index() -> ResponseReturnValue:
    """Campaigns whose letters go to fixed targets."""
    campaigns = list(db.session.scalars(select(Campaign).order_by(Campaign.title)))
    return render_template(
        "deliveries/index.html", campaigns=[c for c in campaigns if _has_targets(c)], kinds=kinds
    )


def _page(
    campaign: Campaign,
    target_form: TargetForm | None = None,
    schedule_form: ScheduleForm | None = None,
    message: str | None = None,
    status: int = 200,
    demands_form: DemandsForm | None = None,
) -> ResponseReturnValue:
    version = pledge.current(db.session, campaign)
    if demands_form is None:
        demands_form = DemandsForm(
            formdata=None, demands="\n".join(version.demands) if version else ""
        )
    rows = db.session.scalars(
        select(DeliveryBundle)
        .where(DeliveryBundle.campaign_id == campaign.id)
        .order_by(DeliveryBundle.id.desc())
    ).all()
    return (
        render_template(
            "deliveries/campaign.html",
            campaign=campaign,
            kind=kinds.for_campaign(campaign),
            bundles=rows,
            target_form=target_form or TargetForm(formdata=None),
            schedule_form=schedule_form
            or ScheduleForm(
                formdata=None,
                every_days=campaign.bundle_every_days,
                digest_every_days=campaign.digest_every_days,
            ),
            action_form=ActionForm(formdata=None),
            demands_form=demands_form,
            demands_version=version,
            per_version=pledge.signatures_per_version(db.session, campaign),
            events=events.events_of(db.session, campaign),
            message=message,
        ),
        status,
    )


@bp.get("/<slug>")
@require(Permission.VIEW_CAMPAIGNS)
def campaign(slug: str) -> ResponseReturnValue:
    """A campaign's targets, schedule and bundles."""
    return _page(_campaign_or_404(slug))


@bp.post("/<slug>/targets")
@require(Permission.EDIT_CAMPAIGNS)
def add_target(slug: str) -> ResponseReturnValue:
    """Add a target."""
    camp = _campaign_or_404(slug)
    form = TargetForm()
    if not form.validate():
        return _page(camp, target_form=form, status=422)
    try:
        target = targets.add_target(
            db.session,
            camp,
            name=form.name.data or "",
            role=form.role.data or "",
            email=form.email.data,
            postal_address=form.postal_address.data,
            country_code=form.country.data or None,
        )
    except targets.TargetError as exc:
        db.session.rollback()
        return _page(camp, target_form=form, message=str(exc), status=422)
    record_event("target.added", target=f"campaign:{camp.id}", target_id=target.id)
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.post("/<slug>/targets/<int:target_id>/remove")
@require(Permission.EDIT_CAMPAIGNS)
def remove_target(slug: str, target_id: int) -> ResponseReturnValue:
    """Take a target off the campaign; its bundles stay on record."""
    camp = _campaign_or_404(slug)
    if not ActionForm().validate():
        return _page(camp, message="The form expired. Please try again.", status=400)
    if not targets.remove_target(db.session, camp, target_id):
        abort(404)
    record_event("target.removed", target=f"campaign:{camp.id}", target_id=target_id)
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.post("/<slug>/schedule")
@require(Permission.EDIT_CAMPAIGNS)
def schedule(slug: str) -> ResponseReturnValue:
    """Set how often the worker delivers new signatures."""
    camp = _campaign_or_404(slug)
    form = ScheduleForm()
    if not form.validate():
        return _page(camp, schedule_form=form, status=422)
    if kinds.for_campaign(camp).delivery == kinds.Delivery.BUNDLE:
        camp.bundle_every_days = form.every_days.data
    camp.digest_every_days = form.digest_every_days.data
    record_event(
        "deliveries.scheduled",
        target=f"campaign:{camp.id}",
        every_days=camp.bundle_every_days,
        digest_every_days=camp.digest_every_days,
    )
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.post("/<slug>/deliver")
@require(Permission.EDIT_CAMPAIGNS)
def deliver(slug: str) -> ResponseReturnValue:
    """Make bundles of the new signatures now; the worker sends the email ones."""
    camp = _campaign_or_404(slug)
    if not ActionForm().validate():
        return _page(camp, message="The form expired. Please try again.", status=400)
    made = bundles.make_bundles(db.session, camp)
    record_event("deliveries.made", target=f"campaign:{camp.id}", bundles=len(made))
    if not made:
        return _page(camp, message="There are no new signatures to deliver yet.")
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.get("/bundles/<int:bundle_id>/<fmt>")
@require(Permission.EXPORT_PERSONAL)
def bundle_file(bundle_id: int, fmt: str) -> ResponseReturnValue:
    """A bundle's PDF (to print for a postal target) or CSV: signers' names, so audited."""
    bundle = db.session.get(DeliveryBundle, bundle_id)
    if bundle is None or fmt not in {"pdf", "csv"}:
        abort(404)
    files = bundles.build_files(db.session, bundle)
    record_event("bundle.downloaded", target=f"bundle:{bundle.id}", format=fmt)
    data, mimetype = (files.pdf, "application/pdf") if fmt == "pdf" else (files.csv, "text/csv")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{files.stem}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/<slug>/demands")
@require(Permission.EDIT_CAMPAIGNS)
def demands(slug: str) -> ResponseReturnValue:
    """Save a pledge's demands as a new version; earlier signatures keep theirs."""
    camp = _campaign_or_404(slug)
    form = DemandsForm()
    if not form.validate():
        return _page(camp, demands_form=form, status=422)
    try:
        version = pledge.set_demands(db.session, camp, (form.demands.data or "").splitlines())
    except pledge.PledgeError as exc:
        db.session.rollback()
        return _page(camp, demands_form=form, message=str(exc), status=422)
    record_event("pledge.demands_saved", target=f"campaign:{camp.id}", version=version.version)
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.get("/<slug>/nominations")
@require(Permission.MODERATE)
def nomination_queue(slug: str) -> ResponseReturnValue:
    """Nominations awaiting a decision."""
    camp = _campaign_or_404(slug)
    return render_template(
        "deliveries/nominations.html",
        campaign=camp,
        nominations=nominations.pending(db.session, camp),
        action_form=ActionForm(formdata=None),
    )


DECISIONS = {
    "show": (True, True),  # accept, shown to letter writers
    "private": (True, False),  # accept, kept off the public page
    "decline": (False, False),
}


@bp.post("/<slug>/nominations/<int:nomination_id>")
@require(Permission.MODERATE)
def decide_nomination(slug: str, nomination_id: int) -> ResponseReturnValue:
    """Accept or decline a nomination; the nominator's details are erased either way."""
    camp = _campaign_or_404(slug)
    nomination = db.session.get(Nomination, nomination_id)
    decision = DECISIONS.get(request.form.get("decision", ""))
    if nomination is None or nomination.campaign_id != camp.id or decision is None:
        abort(404)
    if not ActionForm().validate():
        abort(400)
    accept, public = decision
    try:
        target = nominations.decide(db.session, nomination, accept=accept, public=public)
    except nominations.NominationError:
        db.session.rollback()
        return redirect(url_for("deliveries.nomination_queue", slug=camp.slug), code=303)
    record_event(
        "nomination.decided",
        target=f"nomination:{nomination.id}",
        decision=request.form.get("decision", ""),
        target_id=target.id if target else None,
    )
    return redirect(url_for("deliveries.nomination_queue", slug=camp.slug), code=303)


@bp.post("/<slug>/targets/<int:target_id>/visibility")
@require(Permission.EDIT_CAMPAIGNS)
def target_visibility(slug: str, target_id: int) -> ResponseReturnValue:
    """Show a target to the public, or take it off the public page."""
    camp = _campaign_or_404(slug)
    target = db.session.get(Target, target_id)
    if target is None or not ActionForm().validate():
        abort(404 if target is None else 400)
    target.is_public = request.form.get("public") == "1"
    record_event("target.visibility", target=f"target:{target.id}", public=target.is_public)
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.post("/<slug>/events")
@require(Permission.EDIT_CAMPAIGNS)
def create_event(slug: str) -> ResponseReturnValue:
    """Open a letter-writing event; its page is at an unguessable link for the venue."""
    camp = _campaign_or_404(slug)
    if not ActionForm().validate():
        abort(400)
    made = events.create_event(db.session, camp, request.form.get("name", "")[:200])
    record_event("event.created", target=f"campaign:{camp.id}", event_id=made.id)
    return redirect(url_for("deliveries.campaign", slug=camp.slug), code=303)


@bp.get("/events/<int:event_id>/pdf")
@require(Permission.EDIT_CAMPAIGNS)
def event_pdf(event_id: int) -> ResponseReturnValue:
    """Every letter of an event as one PDF to print, one letter after another."""
    found = db.session.get(LetterEvent, event_id)
    if found is None:
        abort(404)
    letters = events.batch(db.session, found)
    if not letters:
        abort(404)
    pdf = printed.batch_pdf(letters)
    record_event("event.printed", target=f"event:{found.id}", letters=len(letters))
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="event-{found.id}.pdf"'
    return response
