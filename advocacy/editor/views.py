"""Campaign editor pages: campaigns, letters, previews, versions and Word imports."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request
from flask import url_for as flask_url_for
from flask.typing import ResponseReturnValue
from werkzeug.datastructures import FileStorage
from wtforms.fields.choices import SelectChoice

from advocacy.config import Settings
from advocacy.directory.service import Representative, get_directory
from advocacy.editor import docx_import, services
from advocacy.editor.forms import (
    SENDABLE_KINDS,
    CampaignForm,
    ImportForm,
    LetterTemplateForm,
    MoveForm,
    slugify,
)
from advocacy.editor.templating import BODY_VARIABLES, SUBJECT_VARIABLES, TemplateProblem
from advocacy.extensions import db
from advocacy.models import Campaign, CampaignKind, CampaignStatus, LetterTemplate
from advocacy.security import make_draft_view_token
from advocacy.workspace.access import Permission, current_user, record_event, require
from advocacy.workspace.forms import ActionForm
from advocacy.workspace.views import notify

bp = Blueprint("editor", __name__, url_prefix="/workspace/campaigns")

# Uploads up to this size are read (spooled to a temporary file) so the page can say the
# file is over 2 MB; a browser whose upload is cut off unread shows only a network error.
IMPORT_REQUEST_LIMIT = 25 * 1024 * 1024
SAMPLE_CONSTITUENCY = "E14001063"  # Aldershot: any seat will do, this one has an MP


def url_for(endpoint: str, **values: Any) -> str:
    """flask.url_for, typed."""
    return str(flask_url_for(endpoint, **values))


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _campaign_or_404(slug: str) -> Campaign:
    campaign = services.get_campaign(db.session, slug)
    if campaign is None:
        abort(404)
    return campaign


def _template_or_404(campaign: Campaign, slug: str) -> LetterTemplate:
    template = services.get_template(campaign, slug)
    if template is None:
        abort(404)
    return template


def _user_id() -> int | None:
    user = current_user()
    return user.id if user is not None else None


# Campaigns --------------------------------------------------------------------------------------


@bp.get("")
@require(Permission.VIEW_CAMPAIGNS)
def campaigns() -> ResponseReturnValue:
    """Every campaign, drafts included."""
    return render_template(
        "workspace/campaigns/list.html", campaigns=services.list_campaigns(db.session)
    )


def _details(form: CampaignForm) -> services.CampaignDetails:
    return services.CampaignDetails(
        title=form.title.data or "",
        slug=form.slug.data or slugify(form.title.data or ""),
        summary=form.summary.data or "",
        why_it_matters=form.why_it_matters.data or "",
        sender_name=form.sender_name.data or "",
        goal=form.goal.data,
        status=CampaignStatus(form.status.data),
        kind=CampaignKind(form.kind.data),
        opens_on=form.opens_on.data,
        closes_on=form.closes_on.data,
    )


def _render_campaign_form(
    form: CampaignForm, campaign: Campaign | None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "workspace/campaigns/form.html",
            form=form,
            campaign=campaign,
            sendable_kinds=SENDABLE_KINDS,
        ),
        status,
    )


def _save_campaign_form(campaign: Campaign | None) -> ResponseReturnValue:
    form = CampaignForm()
    if not form.validate():
        return _render_campaign_form(form, campaign, 422)
    session = db.session
    details = _details(form)
    if not details.slug:
        form.slug.errors = ["Choose a web address made of letters and numbers."]
        return _render_campaign_form(form, campaign, 422)
    is_new = campaign is None
    try:
        saved = services.save_campaign(session, campaign, details)
    except services.EditorError as exc:
        session.rollback()
        target = getattr(form, exc.field or "", None)
        if target is not None:
            target.errors = [*target.errors, exc.message]
        else:
            form.form_errors.append(exc.message)
        return _render_campaign_form(form, campaign, 422)
    session.commit()
    record_event(
        "campaign.created" if is_new else "campaign.updated",
        target=f"campaign:{saved.slug}",
        fields=sorted(details.changed),
        status=saved.status,
    )
    notify("Campaign created. Now add its letter." if is_new else "Campaign saved.")
    return redirect(url_for("editor.campaign", slug=saved.slug), code=303)


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.EDIT_CAMPAIGNS)
def new_campaign() -> ResponseReturnValue:
    """Create a campaign (as a draft until it has a letter)."""
    if request.method == "POST":
        return _save_campaign_form(None)
    return _render_campaign_form(CampaignForm(formdata=None), None)


@bp.get("/<slug>")
@require(Permission.VIEW_CAMPAIGNS)
def campaign(slug: str) -> ResponseReturnValue:
    """A campaign: its details, its letters and its public address."""
    camp = _campaign_or_404(slug)
    public_url = _settings().base_url + url_for("campaigns.campaign", slug=camp.slug)
    return render_template(
        "workspace/campaigns/campaign.html",
        campaign=camp,
        public_url=public_url,
        action_form=ActionForm(),
        opens_on=services.opens_on(camp),
        closes_on=services.closes_on(camp),
    )


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@require(Permission.EDIT_CAMPAIGNS)
def edit_campaign(slug: str) -> ResponseReturnValue:
    """Change a campaign's details, status or dates."""
    camp = _campaign_or_404(slug)
    if request.method == "POST":
        return _save_campaign_form(camp)
    form = CampaignForm(
        formdata=None,
        obj=camp,
        opens_on=services.opens_on(camp),
        closes_on=services.closes_on(camp),
    )
    return _render_campaign_form(form, camp)


@bp.get("/<slug>/view")
@require(Permission.VIEW_CAMPAIGNS)
def view_public(slug: str) -> ResponseReturnValue:
    """Open the campaign's public page; a draft opens through an hour-long signed link."""
    camp = _campaign_or_404(slug)
    target = url_for("campaigns.campaign", slug=camp.slug)
    if camp.status == CampaignStatus.DRAFT:
        target += "?draft=" + make_draft_view_token(camp.slug)
    return redirect(target, code=303)


# Letters ----------------------------------------------------------------------------------------


def _sample_rep(code: str) -> tuple[Representative | None, list[tuple[str, str]]]:
    directory = get_directory()
    constituencies = directory.constituencies()
    rep = directory.by_constituency(code) if code else None
    if rep is None and constituencies:
        known = {c for c, _ in constituencies}
        fallback = SAMPLE_CONSTITUENCY if SAMPLE_CONSTITUENCY in known else constituencies[0][0]
        rep = directory.by_constituency(fallback)
    return rep, constituencies


def _letter_form(template: LetterTemplate | None, formdata: Any = None) -> LetterTemplateForm:
    if formdata is None:
        form = LetterTemplateForm(formdata=None, obj=template)
    else:
        form = LetterTemplateForm(formdata=formdata)
    return form


def _preview_for(camp: Campaign, form: LetterTemplateForm) -> tuple[Any, list[tuple[str, str]]]:
    rep, constituencies = _sample_rep(form.sample_constituency.data or "")
    form.sample_constituency.choices = [SelectChoice(c, n) for c, n in constituencies]
    if rep is not None:
        form.sample_constituency.data = rep.constituency_code
    if rep is None:
        return None, constituencies
    return (
        services.preview(
            camp,
            form.subject_template.data or "",
            form.body_template.data or "",
            rep,
            form.sample(),
            _settings(),
        ),
        constituencies,
    )


def _render_letter_page(
    camp: Campaign,
    template: LetterTemplate | None,
    form: LetterTemplateForm,
    *,
    status: int = 200,
    problems: list[TemplateProblem] | None = None,
    message: str | None = None,
) -> ResponseReturnValue:
    preview, constituencies = _preview_for(camp, form)
    for problem in problems or []:
        target = form.subject_template if problem.field == "subject" else form.body_template
        if problem.message not in target.errors:
            target.errors = [*target.errors, problem.message]
    return (
        render_template(
            "workspace/campaigns/letter.html",
            campaign=camp,
            template=template,
            form=form,
            preview=preview,
            constituencies=constituencies,
            import_form=ImportForm(formdata=None),
            subject_variables=SUBJECT_VARIABLES,
            body_variables=BODY_VARIABLES,
            message=message,
            max_import_mb=docx_import.MAX_BYTES // (1024 * 1024),
        ),
        status,
    )


def _save_letter(camp: Campaign, template: LetterTemplate | None) -> ResponseReturnValue:
    form = _letter_form(template, request.form)
    if request.form.get("action") == "preview":
        # The no-JavaScript preview: show the letter, save nothing.
        form.validate()
        return _render_letter_page(camp, template, form)
    if not form.validate():
        return _render_letter_page(camp, template, form, status=422)
    session = db.session
    text = services.TemplateText(
        title=form.title.data or "",
        slug=form.slug.data or slugify(form.title.data or "") or "letter",
        description=form.description.data or "",
        subject=form.subject_template.data or "",
        body=(form.body_template.data or "").replace("\r\n", "\n"),
    )
    try:
        saved, changed = services.save_template(session, camp, template, text, user_id=_user_id())
    except services.TemplateRefused as exc:
        session.rollback()
        return _render_letter_page(camp, template, form, status=422, problems=exc.problems)
    except services.EditorError as exc:
        session.rollback()
        form.slug.errors = [*form.slug.errors, exc.message]
        return _render_letter_page(camp, template, form, status=422)
    session.commit()
    if changed:
        record_event(
            "letter.saved",
            target=f"campaign:{camp.slug}/letter:{saved.slug}",
            version=saved.version,
        )
    notify(f"Letter saved as version {saved.version}." if changed else "No changes to save.")
    return redirect(url_for("editor.edit_letter", slug=camp.slug, letter=saved.slug), code=303)


@bp.route("/<slug>/letters/new", methods=["GET", "POST"])
@require(Permission.EDIT_CAMPAIGNS)
def new_letter(slug: str) -> ResponseReturnValue:
    """Write a new letter template."""
    camp = _campaign_or_404(slug)
    if request.method == "POST":
        return _save_letter(camp, None)
    form = _letter_form(None)
    form.subject_template.data = "{{ constituency }}: " + camp.title
    form.body_template.data = (
        "Dear {{ mp_name }},\n\nI am writing to you as a constituent in {{ constituency }}.\n\n"
        "{{ personal_words }}\n\nYours sincerely,\n{{ sender_name }}"
    )
    return _render_letter_page(camp, None, form)


@bp.route("/<slug>/letters/<letter>", methods=["GET", "POST"])
@require(Permission.EDIT_CAMPAIGNS)
def edit_letter(slug: str, letter: str) -> ResponseReturnValue:
    """Change a letter template; a changed text is saved as a new version."""
    camp = _campaign_or_404(slug)
    template = _template_or_404(camp, letter)
    if request.method == "POST":
        return _save_letter(camp, template)
    return _render_letter_page(camp, template, _letter_form(template))


@bp.post("/<slug>/letters/preview.json")
@require(Permission.EDIT_CAMPAIGNS)
def preview_json(slug: str) -> ResponseReturnValue:
    """The live preview the editor's script asks for as the editor types."""
    camp = _campaign_or_404(slug)
    form = _letter_form(None, request.form)
    if not form.validate() and "csrf_token" in form.errors:
        return jsonify({"error": {"code": "bad_token", "message": "Reload the page."}}), 400
    preview, _ = _preview_for(camp, form)
    if preview is None:
        return jsonify(
            {"error": {"code": "no_directory", "message": "The MP directory is empty."}}
        ), 503
    return jsonify(preview.as_dict())


def _upload() -> FileStorage | None:
    upload = request.files.get("document")
    return upload if upload is not None and upload.filename else None


@bp.post("/<slug>/letters/import")
@require(Permission.EDIT_CAMPAIGNS)
def import_letter(slug: str) -> ResponseReturnValue:
    """Start a new letter from a Word document: its paragraphs become the body."""
    camp = _campaign_or_404(slug)
    form = _letter_form(None)
    if (request.content_length or 0) > IMPORT_REQUEST_LIMIT:
        return _render_letter_page(camp, None, form, status=413, message=docx_import.TOO_LARGE)
    request.max_content_length = IMPORT_REQUEST_LIMIT
    upload = _upload()
    try:
        if not ImportForm().validate():
            abort(400)
        if upload is None:
            raise docx_import.ImportRefused("Choose a Word .docx file to import.")
        data = docx_import.read_limited(upload.stream)
        body = docx_import.extract_text(data, upload.filename or "", upload.mimetype)
    except docx_import.ImportRefused as exc:
        return _render_letter_page(camp, None, form, status=422, message=str(exc))
    finally:
        # Large uploads are spooled to a temporary file: close it now, not at collection.
        for storage in request.files.values():
            storage.close()
    title = (upload.filename or "Imported letter").rsplit(".", 1)[0][:200]
    form.title.data = title
    form.slug.data = slugify(title)
    form.subject_template.data = "{{ constituency }}: " + camp.title
    form.body_template.data = body
    record_event(
        "letter.imported", target=f"campaign:{camp.slug}", paragraphs=body.count("\n\n") + 1
    )
    return _render_letter_page(
        camp,
        None,
        form,
        message="Imported. Place {{ personal_words }} where each person's own words go, check "
        "the preview, then save.",
    )


@bp.post("/<slug>/letters/<letter>/move")
@require(Permission.EDIT_CAMPAIGNS)
def move_letter(slug: str, letter: str) -> ResponseReturnValue:
    """Move a letter up or down the list people choose from."""
    camp = _campaign_or_404(slug)
    template = _template_or_404(camp, letter)
    form = MoveForm()
    if not form.validate():
        abort(400)
    services.move_template(db.session, camp, template, up=form.direction.data == "up")
    db.session.commit()
    record_event("letter.moved", target=f"campaign:{camp.slug}/letter:{template.slug}")
    return redirect(url_for("editor.campaign", slug=camp.slug), code=303)


@bp.post("/<slug>/letters/<letter>/remove")
@require(Permission.EDIT_CAMPAIGNS)
def remove_letter(slug: str, letter: str) -> ResponseReturnValue:
    """Stop offering a letter (its history and the letters written from it stay)."""
    camp = _campaign_or_404(slug)
    template = _template_or_404(camp, letter)
    if not ActionForm().validate():
        abort(400)
    session = db.session
    try:
        services.remove_template(session, camp, template)
    except services.EditorError as exc:
        session.rollback()
        notify(exc.message)
        return redirect(url_for("editor.campaign", slug=camp.slug), code=303)
    session.commit()
    record_event("letter.removed", target=f"campaign:{camp.slug}/letter:{letter}")
    notify(f"“{template.title}” is no longer offered.")
    return redirect(url_for("editor.campaign", slug=camp.slug), code=303)


@bp.get("/<slug>/letters/<letter>/history")
@require(Permission.VIEW_CAMPAIGNS)
def letter_history(slug: str, letter: str) -> ResponseReturnValue:
    """Every version of a letter, and what changed between two of them."""
    camp = _campaign_or_404(slug)
    template = _template_or_404(camp, letter)
    versions = {v.number: v for v in template.versions}
    newest = max(versions, default=0)

    def number(name: str, default: int) -> int:
        try:
            return int(request.args.get(name, default))
        except ValueError:
            return default

    new = versions.get(number("to", newest))
    old = versions.get(number("from", (new.number - 1) if new else 0))
    diff = services.diff_versions(old, new) if old and new and old is not new else None
    return render_template(
        "workspace/campaigns/history.html",
        campaign=camp,
        template=template,
        versions=sorted(versions.values(), key=lambda v: v.number, reverse=True),
        counts=services.letters_per_version(db.session, template),
        old=old,
        new=new,
        diff=diff,
    )
