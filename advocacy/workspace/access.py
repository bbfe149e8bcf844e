"""Who may do what in the workspace: roles, permissions, the view guard and the audit log.

Every staff view declares one permission with `require(...)`; a test walks the URL map and
proves that each `/workspace` route is guarded (or marked `public`) and refuses the roles it
must. A role is a set of permissions, so a new role is one entry in ROLE_PERMISSIONS.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ParamSpec, TypeVar

from flask import abort, has_request_context, redirect, request, url_for

from advocacy.extensions import db
from advocacy.models import AuditEvent, StaffSession, StaffUser

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


class Role(StrEnum):
    """What a staff member is there to do."""

    OWNER = "owner"  # everything, including staff, partners and personal-data exports
    EDITOR = "editor"  # campaigns and letters
    VIEWER = "viewer"  # read-only dashboards
    PARTNER = "partner"  # a partner organisation's staff: only that partner's figures


class Permission(StrEnum):
    """One thing a view lets a person do."""

    USE_WORKSPACE = "use_workspace"  # the home page, one's own account and two-factor
    MANAGE_STAFF = "manage_staff"
    MANAGE_PARTNERS = "manage_partners"
    MANAGE_SECURITY = "manage_security"  # installation-wide settings such as required 2FA
    VIEW_CAMPAIGNS = "view_campaigns"
    EDIT_CAMPAIGNS = "edit_campaigns"
    VIEW_DASHBOARD = "view_dashboard"
    EXPORT_AGGREGATE = "export_aggregate"
    EXPORT_PERSONAL = "export_personal"
    VIEW_AUDIT = "view_audit"
    MODERATE = "moderate"
    VIEW_PARTNER_DASHBOARD = "view_partner_dashboard"  # a partner's own figures


_P = Permission
_READ = frozenset({_P.USE_WORKSPACE, _P.VIEW_CAMPAIGNS, _P.VIEW_DASHBOARD, _P.EXPORT_AGGREGATE})
ROLE_PERMISSIONS: Mapping[Role, frozenset[Permission]] = {
    # A partner's own view needs an account linked to one partner; owners see every partner.
    Role.OWNER: frozenset(Permission) - {_P.VIEW_PARTNER_DASHBOARD},
    Role.EDITOR: _READ | {_P.EDIT_CAMPAIGNS, _P.MODERATE},
    Role.VIEWER: _READ,
    Role.PARTNER: frozenset({_P.USE_WORKSPACE, _P.VIEW_PARTNER_DASHBOARD}),
}
del _P, _READ

ROLE_DESCRIPTIONS: Mapping[Role, str] = {
    Role.OWNER: "Everything, including staff, partners, security and personal-data exports.",
    Role.EDITOR: "Creates and edits campaigns and letters; sees dashboards.",
    Role.VIEWER: "Sees campaigns and dashboards; changes nothing.",
    Role.PARTNER: "A partner organisation's staff: sees only that partner's figures.",
}


def permissions_of(user: StaffUser | None) -> frozenset[Permission]:
    """The permissions a user holds now (none when logged out or deactivated)."""
    if user is None or not user.is_active:
        return frozenset()
    try:
        return ROLE_PERMISSIONS[Role(user.role)]
    except ValueError:
        return frozenset()


def has_permission(user: StaffUser | None, permission: Permission) -> bool:
    """True when the user may use views that need `permission`."""
    return permission in permissions_of(user)


_ENVIRON_KEY = "advocacy.workspace_session"


def current_session() -> StaffSession | None:
    """This request's live workspace session, loaded once per request, or None."""
    if not has_request_context():
        return None
    environ = request.environ
    if _ENVIRON_KEY not in environ:
        # Imported here: the session module builds on the models and this module's names.
        from advocacy.workspace.sessions import load_session

        environ[_ENVIRON_KEY] = load_session()
    loaded: StaffSession | None = environ[_ENVIRON_KEY]
    return loaded


def set_current_session(staff_session: StaffSession | None) -> None:
    """Make `staff_session` this request's session (just logged in or out)."""
    request.environ[_ENVIRON_KEY] = staff_session


def current_user() -> StaffUser | None:
    """The logged-in staff member of this request, or None."""
    staff_session = current_session()
    return staff_session.user if staff_session is not None else None


def require(permission: Permission) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Guard a view: anonymous visitors go to the login page, others need `permission`."""

    def decorator(view: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            user = current_user()
            if user is None:
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("workspace.login", next=target))  # type: ignore[return-value]
            if not has_permission(user, permission):
                abort(403)
            if not getattr(view, "_workspace_without_two_factor", False):
                from advocacy.workspace.services import needs_two_factor_setup

                if needs_two_factor_setup(db.session, user):
                    return redirect(url_for("workspace.two_factor"))  # type: ignore[return-value]
            return view(*args, **kwargs)

        guarded._workspace_permission = permission  # type: ignore[attr-defined]
        return guarded

    return decorator


def public(view: Callable[P, R]) -> Callable[P, R]:
    """Mark a workspace view that needs no login (login, set-password, reset)."""
    view._workspace_public = True  # type: ignore[attr-defined]
    return view


def allowed_without_two_factor(view: Callable[P, R]) -> Callable[P, R]:
    """Let a guarded view run before the user has set up a required second factor."""
    view._workspace_without_two_factor = True  # type: ignore[attr-defined]
    return view


@dataclass(frozen=True)
class NavItem:
    """A link in the workspace's navigation, shown to those holding `permission`."""

    endpoint: str
    label: str
    permission: Permission


# In display order. Other staff packages add their own with register_nav().
NAV: list[NavItem] = [
    NavItem("workspace.home", "Home", Permission.USE_WORKSPACE),
    NavItem("editor.campaigns", "Campaigns", Permission.VIEW_CAMPAIGNS),
    NavItem("workspace.staff", "Staff", Permission.MANAGE_STAFF),
    NavItem("workspace.security", "Security", Permission.MANAGE_SECURITY),
    NavItem("workspace.audit", "Audit log", Permission.VIEW_AUDIT),
]


def register_nav(endpoint: str, label: str, permission: Permission, *, after: str = "") -> None:
    """Add a navigation link (once), optionally after another endpoint's link."""
    if any(item.endpoint == endpoint for item in NAV):
        return
    item = NavItem(endpoint, label, permission)
    positions = [i for i, existing in enumerate(NAV) if existing.endpoint == after]
    NAV.insert(positions[0] + 1 if positions else len(NAV), item)


def nav_for(user: StaffUser | None, endpoints: Iterable[str]) -> list[NavItem]:
    """The links this user may follow, among the endpoints the app has."""
    held = permissions_of(user)
    known = set(endpoints)
    return [item for item in NAV if item.permission in held and item.endpoint in known]


def _safe(value: Any) -> Any:
    """A JSON-friendly copy of an audit detail (scalars, or lists of scalars)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return [_safe(item) for item in value]
    return str(value)[:200]


def record_event(
    action: str, *, target: str | None = None, actor: StaffUser | None = None, **details: Any
) -> AuditEvent:
    """Write one audit-log entry (who, what, when) and commit it.

    Call it once the action itself is done: it commits the request's session, so the entry
    and the change it describes are saved together (and an export is logged even though
    nothing else in its request writes). Callers pass only safe details: ids, counts, field
    names, never letter contents or a supporter's personal data.
    """
    who = actor if actor is not None else current_user()
    event = AuditEvent(
        actor_id=who.id if who is not None else None,
        actor_label=who.email if who is not None else "",
        action=action[:80],
        target=target[:200] if target else None,
        details={key: _safe(value) for key, value in details.items()},
    )
    session = db.session
    session.add(event)
    session.commit()
    logger.info("audit: %s by staff %s", event.action, event.actor_id or "-")
    return event
