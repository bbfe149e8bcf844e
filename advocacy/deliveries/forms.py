"""Forms of the delivery screens."""

from __future__ import annotations

from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from advocacy.campaigns.forms import email_check, strip
from advocacy.validation import multiline_filter, single_line
from advocacy.workspace.forms import WorkspaceForm


class TargetForm(WorkspaceForm):
    """A target: its name and role, and an email and/or a postal address."""

    name = StringField(
        "Name",
        filters=[strip],
        validators=[DataRequired("Please enter the target's name."), Length(max=200), single_line],
    )
    role = StringField("Role", filters=[strip], validators=[Length(max=200), single_line])
    email = StringField(
        "Email address", filters=[strip], validators=[Optional(), Length(max=320), email_check]
    )
    postal_address = TextAreaField(
        "Postal address", filters=[multiline_filter], validators=[Optional(), Length(max=1000)]
    )
    country = StringField(
        "Country of the postal address (ISO code, e.g. CN)",
        filters=[strip],
        validators=[Optional(), Length(max=2)],
    )


class ScheduleForm(WorkspaceForm):
    """How often new signatures are delivered; empty means only when asked."""

    every_days = IntegerField(
        "Deliver new signatures every (days)",
        validators=[Optional(), NumberRange(min=1, max=365, message="Between 1 and 365 days.")],
    )
    digest_every_days = IntegerField(
        "Send each MP a digest of their constituents every (days)",
        validators=[Optional(), NumberRange(min=1, max=365, message="Between 1 and 365 days.")],
    )


class DemandsForm(WorkspaceForm):
    """A pledge's numbered demands, one per line, in order."""

    demands = TextAreaField(
        "Demands, one per line, in order",
        filters=[multiline_filter],
        validators=[DataRequired("A pledge needs at least one demand."), Length(max=10_000)],
    )
