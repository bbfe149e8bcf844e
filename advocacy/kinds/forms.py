"""Forms of the signing journeys (petitions, pledges): signers from anywhere."""

from __future__ import annotations

from wtforms import Form, HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from advocacy.campaigns.forms import (
    SignedForm,
    email_check,
    postcode_field_check,
    single_line,
    strip,
)
from advocacy.kinds import countries

MAX_COMMENT = 200


def uk_postcode_only(form: Form, field: StringField) -> None:
    """A postcode is asked only of UK signers, so their constituency counts."""
    if not field.data:
        return
    if form.country.data != countries.UNITED_KINGDOM:
        raise ValidationError(
            "A postcode is only needed if you live in the United Kingdom. Please leave it "
            "empty, or choose United Kingdom as your country."
        )
    postcode_field_check(form, field)


class SignForm(SignedForm):
    """Name, email and country; a UK postcode and a one-line comment if the signer wishes."""

    name = StringField(
        "Your full name",
        filters=[strip],
        validators=[
            DataRequired("Please enter your name: it is what the officials will read."),
            Length(max=120),
            single_line,
        ],
    )
    email = StringField(
        "Your email address",
        filters=[strip],
        validators=[DataRequired("Please enter your email address."), Length(max=254), email_check],
    )
    country = SelectField(
        "Your country",
        choices=[
            SelectChoice("", "Choose your country"),
            *(SelectChoice(code, label) for code, label in countries.choices()),
        ],
        validators=[DataRequired("Please choose the country you live in.")],
    )
    postcode = StringField(
        "Your postcode (UK only, optional)",
        filters=[strip],
        validators=[Optional(), Length(max=16), uk_postcode_only],
    )
    comment = StringField(
        "A comment (optional)",
        filters=[strip],
        validators=[
            Optional(),
            Length(
                max=MAX_COMMENT, message=f"Please keep your comment to {MAX_COMMENT} characters."
            ),
            single_line,
        ],
    )
    partner = HiddenField()
