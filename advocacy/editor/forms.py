"""Forms of the campaign editor; validation lives on the fields."""

from __future__ import annotations

import re
from typing import Any

from wtforms import (
    DateField,
    FileField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from advocacy.campaigns.forms import MIN_PERSONAL_WORDS
from advocacy.models import CampaignKind, CampaignStatus
from advocacy.validation import multiline_filter, person_name, single_line
from advocacy.workspace.forms import WorkspaceForm, strip

SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

# Kinds the journey and the worker can deliver today. The others are listed, disabled, so
# the form already has room for them.
SENDABLE_KINDS = frozenset({CampaignKind.MP_LETTER})
KIND_LABELS = {
    CampaignKind.MP_LETTER: "Letters to MPs (each person writes to their own MP)",
    CampaignKind.PETITION: "Petition to named officials (coming soon)",
    CampaignKind.PLEDGE: "Pledge (coming soon)",
    CampaignKind.POSTAL: "Printed letters by post (coming soon)",
}
STATUS_LABELS = {
    CampaignStatus.DRAFT: "Draft: only staff can see it",
    CampaignStatus.LIVE: "Live: the public can write",
    CampaignStatus.CLOSED: "Closed: visible, no new letters",
}


def slugify(text: str) -> str:
    """A web address part from a title: lower-case words joined by hyphens."""
    words = re.findall(r"[a-z0-9]+", text.lower())
    return "-".join(words)[:80].strip("-")


def slug_check(_form: Any, field: Any) -> None:
    """Lower-case letters, digits and single hyphens."""
    if field.data and not SLUG_PATTERN.match(field.data):
        raise ValidationError(
            "Use lower-case letters, numbers and hyphens only, for example save-our-libraries."
        )


def sendable_kind(_form: Any, field: Any) -> None:
    """Only kinds the app can deliver today."""
    if field.data not in {kind.value for kind in SENDABLE_KINDS}:
        raise ValidationError("Only letters to MPs can be sent today; choose that kind.")


class CampaignForm(WorkspaceForm):
    """Everything about a campaign except its letters."""

    title = StringField(
        "Title",
        filters=[strip],
        validators=[DataRequired("Give the campaign a title."), Length(max=200), single_line],
    )
    slug = StringField(
        "Web address",
        filters=[strip, lambda v: v.lower() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=80), slug_check],
        description="The part after /campaigns/. Left empty, it is made from the title.",
    )
    summary = TextAreaField(
        "Summary",
        filters=[multiline_filter],
        validators=[DataRequired("Write a one-paragraph summary."), Length(max=2000)],
        description="Shown at the top of the campaign page.",
    )
    why_it_matters = TextAreaField(
        "Why it matters", filters=[multiline_filter], validators=[Length(max=20000)]
    )
    sender_name = StringField(
        "Sender name",
        filters=[strip],
        validators=[
            DataRequired("Say who the letters come via, for example your organisation's name."),
            Length(max=120),
            single_line,
            person_name,
        ],
        description="Letters come From “Ayesha Khan via <this name>”.",
    )
    goal = IntegerField(
        "Goal (letters)",
        validators=[Optional(), NumberRange(min=1, max=100_000_000, message="A whole number.")],
    )
    status = SelectField(
        "Status",
        choices=[SelectChoice(s.value, STATUS_LABELS[s]) for s in CampaignStatus],
        default=CampaignStatus.DRAFT.value,
    )
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(
                k.value,
                KIND_LABELS[k],
                render_kw={} if k in SENDABLE_KINDS else {"disabled": "disabled"},
            )
            for k in CampaignKind
        ],
        default=CampaignKind.MP_LETTER.value,
        validators=[sendable_kind],
    )
    opens_on = DateField("Opens on (optional)", validators=[Optional()])
    closes_on = DateField("Closes on (optional)", validators=[Optional()])

    def validate_closes_on(self, field: Any) -> None:
        """The closing date is not before the opening date."""
        if field.data and self.opens_on.data and field.data < self.opens_on.data:
            raise ValidationError("The closing date is before the opening date.")


class LetterTemplateForm(WorkspaceForm):
    """One letter template, and the sample the preview shows it with."""

    title = StringField(
        "Letter title",
        filters=[strip],
        validators=[DataRequired("Give the letter a title."), Length(max=200), single_line],
        description="People choose between letters by this title.",
    )
    slug = StringField(
        "Short name",
        filters=[strip, lambda v: v.lower() if isinstance(v, str) else v],
        validators=[Optional(), Length(max=80), slug_check],
        description="Used in links. Left empty, it is made from the title.",
    )
    description = TextAreaField(
        "Description (optional)", filters=[multiline_filter], validators=[Length(max=2000)]
    )
    subject_template = StringField(
        "Subject",
        filters=[strip],
        validators=[DataRequired("The letter needs a subject."), Length(max=300)],
    )
    body_template = TextAreaField(
        "Body",
        filters=[multiline_filter],
        validators=[DataRequired("The letter needs a body."), Length(max=20000)],
    )
    sample_constituency = SelectField("Sample constituency", validate_choice=False)
    sample_name = StringField(
        "Sample constituent's name",
        filters=[strip],
        default="Ayesha Khan",
        validators=[Length(max=120), single_line, person_name],
    )
    sample_words = TextAreaField(
        "Sample own words",
        filters=[multiline_filter],
        default=(
            "My family in Urumqi has not been able to call me for three years. I think of "
            "them every day."
        ),
        validators=[Length(max=3000)],
    )

    def sample(self) -> dict[str, str]:
        """The sample constituent, with defaults for anything left empty."""
        words = self.sample_words.data or ""
        if len(words) < MIN_PERSONAL_WORDS:
            words = str(self.sample_words.default)
        return {
            "constituency": self.sample_constituency.data or "",
            "name": self.sample_name.data or str(self.sample_name.default),
            "words": words,
        }


class ImportForm(WorkspaceForm):
    """A Word document to start a letter from."""

    document = FileField("Word document (.docx)")


class MoveForm(WorkspaceForm):
    """Move a letter up or down the list."""

    direction = HiddenField(validators=[DataRequired()])
