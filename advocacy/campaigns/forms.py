"""Forms of the public journey; validation lives on the fields."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from advocacy.security import SignedTokenCSRF
from postcode_lookup import InvalidPostcode, parse_postcode

MIN_PERSONAL_WORDS = 20
MAX_PERSONAL_WORDS = 3000
MAX_BODY = 12000


class SignedForm(FlaskForm):
    """A form protected by a signed token and an Origin check rather than a cookie."""

    class Meta:
        csrf = True
        csrf_class = SignedTokenCSRF
        csrf_field_name = "csrf_token"


SOURCE_MAX = 40


def clean_source(value: Any) -> str:
    """A source label as the figures keep it: lower case letters, digits, . _ -; at most 40."""
    text = value if isinstance(value, str) else ""
    kept = "".join(
        ch for ch in text.strip().lower() if ch.isascii() and (ch.isalnum() or ch in "._-")
    )
    return kept[:SOURCE_MAX]


def strip(value: Any) -> Any:
    """Trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def postcode_field_check(_form: Form, field: Field) -> None:
    """Accept any spacing and case; store the normalised postcode."""
    try:
        field.data = parse_postcode(field.data or "").normalised
    except InvalidPostcode as exc:
        raise ValidationError(
            "That does not look like a UK postcode. Check it and try again, for example SW1A 1AA."
        ) from exc


def email_check(_form: Form, field: Field) -> None:
    """A syntactically valid address, normalised; no DNS look-up leaves this server."""
    try:
        field.data = validate_email(field.data or "", check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError(f"Please check your email address: {exc}") from exc


def single_line(_form: Form, field: Field) -> None:
    """Refuse line breaks where a header or name is expected."""
    if field.data and any(ch in field.data for ch in "\r\n"):
        raise ValidationError("Please keep this to one line.")


class PostcodeForm(Form):
    """The postcode box on the campaign page (a GET form: nothing to protect)."""

    postcode = StringField(
        "Your postcode",
        filters=[strip],
        validators=[InputRequired("Please enter your postcode."), Length(max=16)],
    )


class LetterForm(SignedForm):
    """What the person writes, and what the preview carries forward."""

    name = StringField(
        "Your full name",
        filters=[strip],
        validators=[
            DataRequired("Please enter your name, so your MP knows who is writing."),
            Length(max=120),
            single_line,
        ],
    )
    email = StringField(
        "Your email address",
        filters=[strip],
        validators=[DataRequired("Please enter your email address."), Length(max=254), email_check],
    )
    address = TextAreaField(
        "Your street address",
        filters=[strip],
        validators=[
            DataRequired(
                "Please enter your address. MPs only act for their own constituents and need it "
                "to reply by post if they wish."
            ),
            Length(max=400),
        ],
    )
    postcode = StringField(
        "Your postcode",
        filters=[strip],
        validators=[DataRequired("Please enter your postcode."), postcode_field_check],
    )
    personal_words = TextAreaField(
        "In your own words",
        filters=[strip],
        validators=[
            DataRequired(
                "Please add a few words of your own. Personal letters carry far more weight "
                "with MPs than identical copies."
            ),
            Length(
                min=MIN_PERSONAL_WORDS,
                max=MAX_PERSONAL_WORDS,
                message=(
                    f"Please write between {MIN_PERSONAL_WORDS} and {MAX_PERSONAL_WORDS} "
                    "characters in your own words."
                ),
            ),
        ],
    )
    letter = HiddenField(validators=[DataRequired()])
    constituency = HiddenField(validators=[DataRequired()])
    lookup_postcode = HiddenField()
    partner = HiddenField()
    # Where the person came from (`?source=newsletter`), for the campaign's own figures.
    source = HiddenField(filters=[clean_source])


class PreviewForm(LetterForm):
    """The letter as previewed: subject and body are editable before sending."""

    subject = StringField(
        "Subject",
        filters=[strip],
        validators=[
            DataRequired("The letter needs a subject."),
            Length(max=200),
            single_line,
        ],
    )
    body = TextAreaField(
        "Letter",
        filters=[strip],
        validators=[DataRequired("The letter cannot be empty."), Length(max=MAX_BODY)],
    )


class ConfirmForm(SignedForm):
    """The button that confirms a letter (a POST, so link scanners cannot confirm it)."""
