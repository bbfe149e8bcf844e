"""Forms of the workspace's accounts pages; every one carries a CSRF token."""

from __future__ import annotations

import hmac
from typing import Any

from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields.choices import SelectChoice
from wtforms.form import BaseForm
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

from advocacy.security import SignedTokenCSRF, request_origin_problem
from advocacy.workspace.access import ROLE_DESCRIPTIONS, Role, current_session
from advocacy.workspace.passwords import MAX_LENGTH, PasswordRejected, check_policy


class SessionCSRF(SignedTokenCSRF):
    """The CSRF token of the staff member's own session; the signed token before login.

    Once logged in, a form must carry the random token stored with this browser's session,
    so a token seen by anybody else (or issued to another session) is worthless. Pages used
    before login (login, set-password, reset) have no session yet and use the signed,
    expiring token the public journey uses; both also check the Origin header.
    """

    def generate_csrf_token(self, csrf_token_field: CSRFTokenField) -> str:
        """This session's token, or a signed one when nobody is logged in."""
        staff_session = current_session()
        if staff_session is not None:
            return str(staff_session.csrf_token)
        return super().generate_csrf_token(csrf_token_field)

    def validate_csrf_token(self, form: BaseForm, field: CSRFTokenField) -> None:
        """Compare with the session's token (or check the signed one) and the Origin."""
        staff_session = current_session()
        if staff_session is None:
            super().validate_csrf_token(form, field)
            return
        if not current_app.config.get("CSRF_ENABLED", True):
            return
        if not hmac.compare_digest(str(field.data or ""), staff_session.csrf_token):
            raise ValidationError(
                "This form could not be verified. Please reload the page and try again."
            )
        # Against BASE_URL, never the request's Host (which the client chooses).
        if request_origin_problem(request):
            raise ValidationError("This form must be submitted from our own site.")


class WorkspaceForm(FlaskForm):
    """Base of every workspace form."""

    class Meta:
        csrf = True
        csrf_class = SessionCSRF
        csrf_field_name = "csrf_token"


def strip(value: Any) -> Any:
    """Trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


class LoginForm(WorkspaceForm):
    """Email and password."""

    email = StringField(
        "Email", filters=[strip], validators=[DataRequired("Enter your email."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=MAX_LENGTH)]
    )


class TotpForm(WorkspaceForm):
    """A six-digit code from an authenticator app."""

    code = StringField(
        "Six-digit code",
        filters=[strip],
        validators=[DataRequired("Enter the code from your app."), Length(max=12)],
    )


def _password_policy(form: Any, field: Any) -> None:
    email = getattr(form, "_email", "")
    try:
        check_policy(field.data or "", email=email)
    except PasswordRejected as exc:
        raise ValidationError(str(exc)) from exc


class SetPasswordForm(WorkspaceForm):
    """A new password, typed twice."""

    password = PasswordField(
        "New password",
        validators=[DataRequired("Choose a password."), _password_policy],
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords are different."),
        ],
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        """Remember whose password this is, so it may not contain their email."""
        super().__init__(*args, **kwargs)
        self._email = email


class ResetRequestForm(WorkspaceForm):
    """The email to send a reset link to."""

    email = StringField(
        "Email",
        filters=[strip],
        validators=[DataRequired("Enter your email."), Email("Enter an email address.")],
    )


ROLE_CHOICES = [
    SelectChoice(role.value, f"{role.value.title()}: {ROLE_DESCRIPTIONS[role]}") for role in Role
]


class InviteForm(WorkspaceForm):
    """A new staff member, invited by email."""

    email = StringField(
        "Email",
        filters=[strip],
        validators=[DataRequired("Enter their email."), Email("Enter an email address.")],
    )
    name = StringField("Name (optional)", filters=[strip], validators=[Length(max=200)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value)
    # Choices are the active partners, filled in by the view.
    partner = SelectField("Partner organisation (partner accounts only)", validate_choice=False)


class RoleForm(WorkspaceForm):
    """Another role for a staff member."""

    role = SelectField("Role", choices=ROLE_CHOICES)


class ActionForm(WorkspaceForm):
    """A button that does one thing (deactivate, resend): only the token."""


class SecurityForm(WorkspaceForm):
    """Installation-wide security settings."""

    require_two_factor = BooleanField("Require two-factor for every staff member")
