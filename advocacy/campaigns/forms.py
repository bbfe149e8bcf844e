"""Forms of the public journey; validation lives on the fields."""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError
from flask_wtf import FlaskForm
from wtforms import Field, Form, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, ValidationError

from advocacy.campaigns.recipient import Recipient, issue, postcode_problem, verify
from advocacy.security import SignedTokenCSRF
from advocacy.validation import check_email, multiline_filter, person_name, single_line
from postcode_lookup import InvalidPostcode, InvalidReason, parse_postcode

MIN_PERSONAL_WORDS = 20
MAX_PERSONAL_WORDS = 3000
MAX_BODY = 12000


class SignedForm(FlaskForm):
    """A form protected by a signed token and an Origin check rather than a cookie."""

    class Meta:
        csrf = True
        csrf_class = SignedTokenCSRF
        csrf_field_name = "csrf_token"


def strip(value: Any) -> Any:
    """Trim surrounding whitespace from text input."""
    return value.strip() if isinstance(value, str) else value


def postcode_field_check(_form: Form, field: Field) -> None:
    """Accept any spacing and case; store the normalised postcode."""
    try:
        field.data = parse_postcode(field.data or "").normalised
    except InvalidPostcode as exc:
        if exc.reason is InvalidReason.BAD_INWARD:
            raise ValidationError(str(exc)) from exc
        raise ValidationError(
            "That does not look like a UK postcode. Check it and try again, for example SW1A 1AA."
        ) from exc


def email_check(_form: Form, field: Field) -> None:
    """A valid address, kept as typed (see validation.check_email)."""
    try:
        field.data = check_email(field.data or "")
    except EmailNotValidError as exc:
        raise ValidationError(f"Please check your email address: {exc}") from exc


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
            person_name,
        ],
    )
    email = StringField(
        "Your email address",
        filters=[strip],
        validators=[DataRequired("Please enter your email address."), Length(max=254), email_check],
    )
    address = TextAreaField(
        "Your street address",
        filters=[multiline_filter],
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
        filters=[multiline_filter],
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
    # The signed choice of constituency (see recipient.py); never a bare code.
    recipient = HiddenField()
    partner = HiddenField()

    def recipient_choice(self) -> Recipient | None:
        """The constituency the server chose for this letter, or None if the token is bad."""
        return verify(self.recipient.data)

    def validate_postcode(self, field: Field) -> None:
        """The address's postcode must lie in the chosen constituency."""
        chosen = self.recipient_choice()
        if field.errors or chosen is None:
            return
        problem, confirmed = postcode_problem(chosen, field.data or "")
        if problem:
            raise ValidationError(problem)
        # Carried forward with the confirmed postcode and a fresh age.
        self.recipient.data = issue(confirmed)


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
        filters=[multiline_filter],
        validators=[DataRequired("The letter cannot be empty."), Length(max=MAX_BODY)],
    )


class ConfirmForm(SignedForm):
    """The button that confirms a letter (a POST, so link scanners cannot confirm it)."""
