"""Workspace accounts pages: login, links, two-factor, staff, security and the audit log."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from advocacy.config import Settings
from advocacy.extensions import db
from advocacy.models import AuditEvent, StaffTokenPurpose, StaffUser
from advocacy.workspace import services, sessions
from advocacy.workspace.access import (
    ROLE_DESCRIPTIONS,
    Permission,
    Role,
    allowed_without_two_factor,
    current_session,
    current_user,
    nav_for,
    permissions_of,
    public,
    record_event,
    require,
    set_current_session,
)
from advocacy.workspace.forms import (
    ActionForm,
    InviteForm,
    LoginForm,
    ResetRequestForm,
    RoleForm,
    SecurityForm,
    SetPasswordForm,
    TotpForm,
)

bp = Blueprint("workspace", __name__, url_prefix="/workspace")

AUDIT_PAGE_SIZE = 100
LOGIN_NOTICES = {
    "password": "Your password is set. Please log in.",
    "logout": "You are logged out.",
    "expired": "You were logged out after a while without activity. Please log in again.",
}


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


@bp.before_request
def _load_staff() -> None:
    # Loaded first so every form on the page carries this session's CSRF token.
    staff_session = current_session()
    if staff_session is not None and staff_session.notice:
        request.environ["advocacy.notice"] = staff_session.notice
        staff_session.notice = None
        db.session.commit()


def notify(text: str) -> None:
    """Show `text` once on the next workspace page this browser opens."""
    staff_session = current_session()
    if staff_session is not None:
        staff_session.notice = text[:500]
        db.session.commit()


@bp.after_request
def _no_store(response: Any) -> Any:
    # Staff pages show figures and names: never keep them in a shared cache or history.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_context_processor
def _workspace_context() -> dict[str, Any]:
    if not request.path.startswith("/workspace"):
        return {}
    user = current_user()
    return {
        "staff_user": user,
        "staff_permissions": permissions_of(user),
        "staff_nav": nav_for(user, current_app.view_functions),
        "staff_logout_form": ActionForm() if user is not None else None,
        "notice": request.environ.get("advocacy.notice"),
        "Permission": Permission,
    }


def _safe_next(value: str | None) -> str:
    """Only a path inside the workspace: a login link must not send anybody elsewhere."""
    if not value:
        return url_for("workspace.home")
    parts = urlsplit(value)
    if (
        parts.scheme
        or parts.netloc
        or not value.startswith("/workspace")
        or value.startswith("//")
        or "\\" in value
    ):
        return url_for("workspace.home")
    return value


def _logged_in_response(user: StaffUser, target: str) -> ResponseReturnValue:
    session = db.session
    token = sessions.start_session(session, user)
    services.complete_login(session, user)
    session.commit()
    record_event("login", target=f"staff:{user.id}", actor=user)
    response = redirect(target, code=303)
    sessions.set_cookie(response, token)
    return response


# Login and logout ---------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> ResponseReturnValue:
    """Email and password; then a code when two-factor is on."""
    form = LoginForm()
    next_url = _safe_next(request.values.get("next"))
    if current_user() is not None and request.method == "GET":
        return redirect(next_url)
    message = None
    status = 200
    if form.validate_on_submit():
        session = db.session
        try:
            result = services.authenticate(session, form.email.data, form.password.data)
        except services.LoginThrottled as exc:
            message, status = exc.message, 429
        except services.LoginRefused as exc:
            message, status = exc.message, 401
        else:
            if not result.needs_totp:
                return _logged_in_response(result.user, next_url)
            token = sessions.start_session(session, result.user, pending_totp=True)
            session.commit()
            response = redirect(url_for("workspace.login_code", next=next_url), code=303)
            sessions.set_cookie(response, token)
            return response
    elif request.method == "POST":
        status = 422
    notice = LOGIN_NOTICES.get(request.args.get("done", ""))
    return (
        render_template(
            "workspace/login.html", form=form, message=message, next=next_url, notice=notice
        ),
        status,
    )


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code() -> ResponseReturnValue:
    """The second step of a login with two-factor."""
    pending = sessions.load_session(allow_pending=True)
    next_url = _safe_next(request.values.get("next"))
    if pending is None or not pending.is_pending_totp:
        return redirect(url_for("workspace.login", next=next_url))
    set_current_session(pending)
    form = TotpForm()
    message = None
    status = 200
    if form.validate_on_submit():
        session = db.session
        user = pending.user
        try:
            services.check_throttle_for(user.email)
        except services.LoginThrottled as exc:
            message, status = exc.message, 429
        else:
            if services.verify_totp(user, form.code.data):
                session.delete(pending)
                session.commit()
                return _logged_in_response(user, next_url)
            services.count_failure_for(user.email)
            session.commit()
            record_event("login.failed", target=f"staff:{user.id}", actor=None, reason="wrong code")
            message, status = "That code did not match. Please enter the newest code.", 401
    return (
        render_template("workspace/login_code.html", form=form, message=message, next=next_url),
        status,
    )


@bp.post("/logout")
@require(Permission.USE_WORKSPACE)
@allowed_without_two_factor
def logout() -> ResponseReturnValue:
    """End this browser's session."""
    form = ActionForm()
    if not form.validate():
        abort(400)
    record_event("logout")
    sessions.end_session(db.session)
    db.session.commit()
    response = redirect(url_for("workspace.login", done="logout"), code=303)
    sessions.clear_cookie(response)
    return response


@bp.get("/")
@require(Permission.USE_WORKSPACE)
def home() -> ResponseReturnValue:
    """The workspace's front page: what this person can do."""
    return render_template("workspace/home.html", logout_form=ActionForm())


# Links: set a password, reset a password ------------------------------------------------------


def _password_page(signed: str, purpose: StaffTokenPurpose) -> ResponseReturnValue:
    session = db.session
    token = services.load_token(session, signed, purpose)
    if token is None:
        return render_template("workspace/link_invalid.html", purpose=purpose.value), 404
    form = SetPasswordForm(email=token.user.email)
    if form.validate_on_submit():
        user = services.set_password(session, token, form.password.data)
        session.commit()
        record_event(
            "password.set" if purpose == StaffTokenPurpose.SET_PASSWORD else "password.reset",
            target=f"staff:{user.id}",
            actor=user,
        )
        return redirect(url_for("workspace.login", done="password"), code=303)
    status = 422 if request.method == "POST" else 200
    return (
        render_template(
            "workspace/set_password.html", form=form, user=token.user, purpose=purpose.value
        ),
        status,
    )


@bp.route("/set-password/<signed>", methods=["GET", "POST"])
@public
def set_password(signed: str) -> ResponseReturnValue:
    """Choose a first password from a single-use link."""
    return _password_page(signed, StaffTokenPurpose.SET_PASSWORD)


@bp.route("/reset/<signed>", methods=["GET", "POST"])
@public
def reset_password(signed: str) -> ResponseReturnValue:
    """Choose a new password from an emailed reset link."""
    return _password_page(signed, StaffTokenPurpose.RESET_PASSWORD)


@bp.route("/reset", methods=["GET", "POST"])
@public
def reset_request() -> ResponseReturnValue:
    """Ask for a reset link; the answer is the same whether or not the account exists."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        session = db.session
        try:
            services.check_throttle_for(form.email.data)
        except services.LoginThrottled as exc:
            return render_template("workspace/reset.html", form=form, message=exc.message), 429
        # Counted like a failed login: the form must not become a way to flood a mailbox.
        services.count_failure_for(form.email.data)
        if services.request_password_reset(session, form.email.data):
            session.commit()
            user = services.find_user(session, form.email.data)
            record_event("password.reset_requested", target=f"staff:{user.id}" if user else None)
        return render_template("workspace/reset_sent.html")
    status = 422 if request.method == "POST" else 200
    return render_template("workspace/reset.html", form=form, message=None), status


# Two-factor for one's own account ---------------------------------------------------------------


@bp.route("/account/two-factor", methods=["GET", "POST"])
@require(Permission.USE_WORKSPACE)
@allowed_without_two_factor
def two_factor() -> ResponseReturnValue:
    """Set up, confirm or turn off an authenticator app."""
    user = _me()
    session = db.session
    form = TotpForm()
    action = request.form.get("action", "")
    message = None
    status = 200
    if request.method == "POST":
        if not ActionForm().validate():
            abort(400)
        try:
            if action == "begin":
                services.begin_totp(user)
                session.commit()
            elif action == "confirm" and form.validate():
                services.enable_totp(user, form.code.data)
                session.commit()
                record_event("two_factor.enabled", target=f"staff:{user.id}")
                notify("Two-factor is on. You will be asked for a code at each login.")
                return redirect(url_for("workspace.home"), code=303)
            elif action == "disable":
                services.disable_totp(session, user)
                session.commit()
                record_event("two_factor.disabled", target=f"staff:{user.id}")
                notify("Two-factor is off.")
                return redirect(url_for("workspace.two_factor"), code=303)
        except services.WorkspaceError as exc:
            session.rollback()
            message, status = exc.message, 422
    qr = None
    secret = None
    if user.totp_secret and not user.is_totp_enabled:
        qr = services.qr_svg(services.provisioning_uri(user))
        secret = user.totp_secret
    return (
        render_template(
            "workspace/two_factor.html",
            form=form,
            action_form=ActionForm(),
            qr=qr,
            secret=secret,
            required=services.is_two_factor_required(session),
            message=message,
        ),
        status,
    )


# Staff (owners) ---------------------------------------------------------------------------------


def _me() -> StaffUser:
    user = current_user()
    if user is None:  # require() has already sent anonymous visitors away
        abort(401)
    return user


def _user_or_404(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id)
    if user is None:
        abort(404)
    return user


def _staff_page(form: InviteForm, message: str | None = None, status: int = 200) -> Any:
    return (
        render_template(
            "workspace/staff.html",
            users=services.list_users(db.session),
            form=form,
            action_form=ActionForm(),
            role_choices=[(r.value, r.value.title()) for r in Role],
            role_descriptions=ROLE_DESCRIPTIONS,
            message=message,
        ),
        status,
    )


@bp.get("/staff")
@require(Permission.MANAGE_STAFF)
def staff() -> ResponseReturnValue:
    """Every account, with invitations and deactivation."""
    return _staff_page(InviteForm(formdata=None))


@bp.post("/staff/invite")
@require(Permission.MANAGE_STAFF)
def staff_invite() -> ResponseReturnValue:
    """Create an account and email its set-password link."""
    form = InviteForm()
    if not form.validate():
        return _staff_page(form, status=422)
    session = db.session
    try:
        user = services.invite(session, form.email.data, Role(form.role.data), form.name.data or "")
    except services.WorkspaceError as exc:
        session.rollback()
        return _staff_page(form, exc.message, 422)
    session.commit()
    record_event("staff.invited", target=f"staff:{user.id}", role=user.role)
    notify(f"Invitation sent to {user.email}. The link works for 72 hours.")
    return redirect(url_for("workspace.staff"), code=303)


def _staff_action(user_id: int, action: str) -> ResponseReturnValue:
    if not ActionForm().validate():
        abort(400)
    session = db.session
    user = _user_or_404(user_id)
    me = current_user()
    try:
        if action == "deactivate":
            if me is not None and me.id == user.id:
                raise services.WorkspaceError("You cannot deactivate your own account.")
            services.deactivate(session, user)
            note = f"{user.email} is deactivated and logged out."
        elif action == "reactivate":
            services.reactivate(session, user)
            note = f"{user.email} can log in again."
        elif action == "resend":
            services.resend_invitation(session, user)
            note = f"A new link was sent to {user.email}."
        else:
            role = Role(request.form.get("role", ""))
            services.change_role(session, user, role)
            note = f"{user.email} is now {role.value}."
    except (services.WorkspaceError, ValueError) as exc:
        session.rollback()
        text = exc.message if isinstance(exc, services.WorkspaceError) else "Unknown role."
        return _staff_page(InviteForm(formdata=None), text, 422)
    session.commit()
    record_event(f"staff.{action}", target=f"staff:{user.id}", role=user.role)
    notify(note)
    return redirect(url_for("workspace.staff"), code=303)


@bp.post("/staff/<int:user_id>/deactivate")
@require(Permission.MANAGE_STAFF)
def staff_deactivate(user_id: int) -> ResponseReturnValue:
    """Deactivate an account: it is logged out everywhere at once."""
    return _staff_action(user_id, "deactivate")


@bp.post("/staff/<int:user_id>/reactivate")
@require(Permission.MANAGE_STAFF)
def staff_reactivate(user_id: int) -> ResponseReturnValue:
    """Let a deactivated account log in again."""
    return _staff_action(user_id, "reactivate")


@bp.post("/staff/<int:user_id>/resend")
@require(Permission.MANAGE_STAFF)
def staff_resend(user_id: int) -> ResponseReturnValue:
    """Email a fresh set-password link."""
    return _staff_action(user_id, "resend")


@bp.post("/staff/<int:user_id>/role")
@require(Permission.MANAGE_STAFF)
def staff_role(user_id: int) -> ResponseReturnValue:
    """Change a staff member's role."""
    RoleForm()  # validates the role choice with the token below
    return _staff_action(user_id, "role")


@bp.route("/security", methods=["GET", "POST"])
@require(Permission.MANAGE_SECURITY)
def security() -> ResponseReturnValue:
    """Installation-wide security settings."""
    session = db.session
    form = SecurityForm(require_two_factor=services.is_two_factor_required(session))
    if form.validate_on_submit():
        value = "1" if form.require_two_factor.data else ""
        services.put_setting(session, services.REQUIRE_TWO_FACTOR, value)
        session.commit()
        record_event("security.two_factor_required", required=bool(value))
        notify("Saved.")
        return redirect(url_for("workspace.security"), code=303)
    without = session.scalar(
        select(func.count(StaffUser.id)).where(
            StaffUser.is_active.is_(True), StaffUser.is_totp_enabled.is_(False)
        )
    )
    return render_template("workspace/security.html", form=form, without_two_factor=without)


@bp.get("/audit")
@require(Permission.VIEW_AUDIT)
def audit() -> ResponseReturnValue:
    """The audit log, newest first, a page at a time."""
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    action = request.args.get("action", "").strip()[:80]
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    if action:
        query = query.where(AuditEvent.action.startswith(action, autoescape=True))
    events = list(
        db.session.scalars(query.offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE + 1))
    )
    return render_template(
        "workspace/audit.html",
        events=events[:AUDIT_PAGE_SIZE],
        page=page,
        has_more=len(events) > AUDIT_PAGE_SIZE,
        action=action,
    )
