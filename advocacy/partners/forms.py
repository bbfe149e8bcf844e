"""The workspace form for a partner organisation."""

from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from advocacy.workspace.forms import WorkspaceForm, strip


class PartnerForm(WorkspaceForm):
    """A partner's details, the sites that may frame the form, and its consent box."""

    name = StringField(
        "Name",
        filters=[strip],
        validators=[DataRequired("Give the partner a name."), Length(max=200)],
    )
    slug = StringField(
        "Code (used in links and the embed snippet)",
        filters=[strip],
        validators=[DataRequired("Give the partner a code."), Length(max=80)],
    )
    website = StringField("Website", filters=[strip], validators=[Length(max=300)])
    allowed_origins = TextAreaField(
        "Sites that may show the form (one per line, like https://www.example.org)",
        validators=[Length(max=4000)],
    )
    contact_email = StringField("Contact email", filters=[strip], validators=[Length(max=320)])
    accent_colour = StringField(
        "Accent colour (optional, like #5a2d82)",
        filters=[strip],
        validators=[
            Optional(),
            Regexp(r"^#[0-9a-fA-F]{6}$", message="The accent colour must look like #5a2d82."),
        ],
    )
    consent_wording = TextAreaField(
        "Wording of the optional “keep me informed” box (leave empty for no box)",
        validators=[Length(max=600)],
    )
    is_figures_public = BooleanField("Show this partner's total in the public figures")
    is_active = BooleanField("Active", default=True)
