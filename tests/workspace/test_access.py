"""Every /workspace route is guarded: anonymous visitors go to login, other roles get 403."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from advocacy.models import Partner
from advocacy.partners import attribution
from advocacy.workspace.access import ROLE_PERMISSIONS, Permission, Role, has_permission
from tests.conftest import TEST_SECRET


def _workspace_rules(app: Flask) -> list[Rule]:
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/workspace")]


def _url(rule: Rule) -> str:
    """The rule's path with placeholder values for its arguments."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if type(converter).__name__ in {"IntegerConverter"} else "x"
    path = rule.rule
    for name, value in values.items():
        path = path.replace(f"<int:{name}>", str(value)).replace(f"<{name}>", str(value))
        path = path.replace(f"<path:{name}>", str(value))
    return path


def _method(rule: Rule) -> str:
    methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    return "GET" if "GET" in methods else methods[0]


def test_every_workspace_route_is_marked(app: Flask) -> None:
    rules = _workspace_rules(app)
    assert len(rules) > 5
    for rule in rules:
        view = app.view_functions[rule.endpoint]
        public = getattr(view, "_workspace_public", False)
        permission = getattr(view, "_workspace_permission", None)
        assert public or isinstance(permission, Permission), f"{rule.rule} has no access rule"
        assert not (public and permission), f"{rule.rule} is both public and guarded"


def test_every_guarded_route_sends_anonymous_visitors_to_login(
    app: Flask, client: FlaskClient
) -> None:
    for rule in _workspace_rules(app):
        if getattr(app.view_functions[rule.endpoint], "_workspace_public", False):
            continue
        response = client.open(_url(rule), method=_method(rule))
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/workspace/login?next="), rule.rule


@pytest.mark.parametrize("role", list(Role))
def test_every_guarded_route_refuses_roles_without_its_permission(
    app: Flask, staff_client: Callable[..., FlaskClient], role: Role
) -> None:
    client = staff_client(role)
    refused = 0
    for rule in _workspace_rules(app):
        view = app.view_functions[rule.endpoint]
        permission = getattr(view, "_workspace_permission", None)
        if permission is None:
            continue
        response = client.open(_url(rule), method=_method(rule))
        if has_permission(client.staff_user, permission):  # type: ignore[attr-defined]
            assert response.status_code not in {302, 401, 403}, (rule.rule, role)
        else:
            assert response.status_code == 403, (rule.rule, role)
            refused += 1
    if role != Role.OWNER:
        assert refused, f"{role} was refused nothing"


def test_owner_holds_every_permission_and_partner_only_its_own() -> None:
    # All but a partner's own view, which needs an account linked to one partner.
    assert ROLE_PERMISSIONS[Role.OWNER] == frozenset(Permission) - {
        Permission.VIEW_PARTNER_DASHBOARD
    }
    assert ROLE_PERMISSIONS[Role.PARTNER] == {
        Permission.USE_WORKSPACE,
        Permission.VIEW_PARTNER_DASHBOARD,
    }
    assert Permission.EDIT_CAMPAIGNS not in ROLE_PERMISSIONS[Role.VIEWER]


def test_a_deactivated_account_is_logged_out_at_once(
    app: Flask, staff_client: Callable[..., FlaskClient], session
) -> None:
    client = staff_client(Role.EDITOR)
    assert client.get("/workspace/").status_code == 200
    client.staff_user.is_active = False  # type: ignore[attr-defined]
    session.commit()
    response = client.get("/workspace/")
    assert response.status_code == 302
    assert "/workspace/login" in response.headers["Location"]


def test_workspace_pages_may_never_be_framed(
    staff_client: Callable[..., FlaskClient], client: FlaskClient, session: Session
) -> None:
    session.add(Partner(slug="friends", name="Friends", allowed_origins="https://friends.example"))
    session.commit()
    # A link made for a partner's frame does not make a staff page framable.
    via = attribution.sign(
        TEST_SECRET, attribution.Attribution(partner="friends", is_embedded=True)
    )
    for response in (
        client.get(f"/workspace/login?via={via}"),
        staff_client(Role.OWNER).get(f"/workspace/staff?via={via}"),
    ):
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
