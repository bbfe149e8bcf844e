"""The moderation queue in the staff workspace: every action guarded and audited."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from advocacy.config import Settings
from advocacy.extensions import db
from advocacy.privacy import moderation
from advocacy.words.services import ReviewError
from advocacy.workspace import views as workspace_views
from advocacy.workspace.access import Permission, record_event, register_nav, require
from advocacy.workspace.forms import ActionForm, WorkspaceForm, strip
from advocacy.workspace.views import notify

bp = Blueprint("moderation", __name__, url_prefix="/workspace/moderation")
# The workspace's own page set-up: a notice left by the last action is shown once, and
# nothing with letters on it is kept in a cache or the browser's history.
bp.before_request(workspace_views._load_staff)
bp.after_request(workspace_views._no_store)

register_nav("moderation.queue", "Moderation", Permission.MODERATE, after="editor.campaigns")


class RejectForm(WorkspaceForm):
    """Refuse a held letter, saying why (kept on the letter, shown to staff)."""

    reason = StringField("Why it will not be sent", filters=[strip], validators=[Length(max=500)])


class AskWriterForm(WorkspaceForm):
    """A reviewer's edit of a held letter, sent back to its writer to decide."""

    body = TextAreaField("Suggested letter", validators=[Length(max=moderation.MAX_BODY)])


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _page(message: str | None = None, status: int = 200) -> ResponseReturnValue:
    held = moderation.held_letters(db.session, _settings())
    forms: dict[str, Any] = {
        "action_form": ActionForm(formdata=None),
        "reject_form": RejectForm(formdata=None),
    }
    ask_forms = {h.letter_id: AskWriterForm(formdata=None, body=h.body) for h in held}
    page = render_template(
        "privacy/moderation.html", held=held, ask_forms=ask_forms, message=message, **forms
    )
    return page, status


@bp.get("")
@require(Permission.MODERATE)
def queue() -> ResponseReturnValue:
    """Held letters with their reason and, for near-copies, the letters they are close to."""
    return _page()


def _done(action: str, letter_id: int, note: str) -> ResponseReturnValue:
    record_event(f"moderation.{action}", target=f"letter:{letter_id}")
    notify(note)
    return redirect(url_for("moderation.queue"), code=303)


@bp.post("/<int:letter_id>/approve")
@require(Permission.MODERATE)
def approve(letter_id: int) -> ResponseReturnValue:
    """Send a held letter."""
    if not ActionForm().validate():
        abort(400)
    try:
        moderation.approve(db.session, letter_id)
    except ReviewError as exc:
        db.session.rollback()
        return _page(exc.message, 409)
    return _done("approve", letter_id, f"Letter {letter_id} is approved and will be sent.")


@bp.post("/<int:letter_id>/reject")
@require(Permission.MODERATE)
def reject(letter_id: int) -> ResponseReturnValue:
    """Refuse a held letter with a reason."""
    form = RejectForm()
    if not form.validate():
        return _page("Please give a reason of at most 500 characters.", 422)
    try:
        moderation.reject(db.session, letter_id, form.reason.data or "")
    except ReviewError as exc:
        db.session.rollback()
        return _page(exc.message, 422)
    return _done("reject", letter_id, f"Letter {letter_id} is refused; it will not be sent.")


@bp.post("/<int:letter_id>/ask-writer")
@require(Permission.MODERATE)
def ask_writer(letter_id: int) -> ResponseReturnValue:
    """Save an edit and email the writer to send it as edited, or not."""
    form = AskWriterForm()
    if not form.validate():
        return _page(f"The letter must be at most {moderation.MAX_BODY} characters.", 422)
    try:
        moderation.ask_writer(db.session, letter_id, form.body.data or "")
    except ReviewError as exc:
        db.session.rollback()
        return _page(exc.message, 422)
    return _done(
        "ask_writer", letter_id, f"The writer of letter {letter_id} is asked to send it as edited."
    )
