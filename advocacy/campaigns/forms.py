"""Forms of the public journey; validation lives on the fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from email_validator import EmailNotValidError
from flask_wtf import FlaskForm
from wtforms import BooleanField, Field, Form, HiddenField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    StopValidation,
    ValidationError,
)

from advocacy.campaigns.recipient import Recipient, check_postcode, issue, verify
from advocacy.security import SignedTokenCSRF
from advocacy.validation import (
    MixedScriptDomain,
    check_email,
    multiline_filter,
    person_name,
    single_line,
)
from postcode_lookup import InvalidPostcode, InvalidReason, parse_postcode

MIN_PERSONAL_WORDS = 20
MAX_PERSONAL_WORDS = 3000
MAX_BODY = 12000
# A letter holds at least the person's own words, so it is never shorter than they may be.
MIN_BODY = MIN_PERSONAL_WORDS
# The preview's button that drafts the subject and letter again from the campaign's
# template; the messages for a letter emptied or cut too short point to it.
REDRAFT_LABEL = "Start again from the campaign's letter"


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


EMAIL_EXAMPLE = "for example name@example.org"


def email_problem(address: str) -> str | None:
    """Our own words for what is wrong with an email address, or None if nothing obvious is."""
    if any(ch.isspace() for ch in address):
        return f"An email address has no spaces. Check yours, {EMAIL_EXAMPLE}."
    if "@" not in address:
        return f"An email address needs an @ in the middle, {EMAIL_EXAMPLE}."
    local, _, domain = address.rpartition("@")
    if "@" in local:
        return f"An email address has only one @. Check yours, {EMAIL_EXAMPLE}."
    if not local:
        return f"Something is missing before the @ in your email address, {EMAIL_EXAMPLE}."
    if not domain:
        return f"Something is missing after the @ in your email address, {EMAIL_EXAMPLE}."
    if "." not in domain.strip("."):
        return (
            f"The part after the @ needs a dot, like example.org or gmail.com. Check your "
            f"email address, {EMAIL_EXAMPLE}."
        )
    if ".." in address or domain.startswith(".") or domain.endswith("."):
        return f"Your email address has a dot in the wrong place. Check it, {EMAIL_EXAMPLE}."
    return None


def email_check(_form: Form, field: Field) -> None:
    """A valid address, kept as typed (see validation.check_email)."""
    address = field.data or ""
    problem = email_problem(address)
    if problem:
        raise ValidationError(problem)
    try:
        field.data = check_email(address)
    except MixedScriptDomain as exc:
        raise ValidationError(str(exc)) from exc
    except EmailNotValidError as exc:
        # The library's own sentences are written for developers; ours name no internals.
        raise ValidationError(
            "Please check your email address: it has a character or a part that email "
            f"addresses cannot have. Write it as you would give it to a friend, {EMAIL_EXAMPLE}."
        ) from exc


class PostcodeForm(Form):
    """The postcode box on the campaign page (a GET form: nothing to protect)."""

    postcode = StringField(
        "Your postcode",
        filters=[strip],
        validators=[InputRequired("Please enter your postcode."), Length(max=16)],
    )


EMAIL_LABEL = "Your email address"
EMAIL_REQUIRED = "Please enter your email address."


class EmailUnlessPrinted:
    """An email address is required, except on a form whose `is_email_optional` is set (a
    letter printed for an MP with no email address, where nothing is emailed): there an
    empty field is accepted and its other checks are skipped."""

    field_flags: ClassVar[dict[str, bool]] = {"required": True}

    def __call__(self, form: Form, field: Field) -> None:
        if field.data:
            return
        field.errors[:] = []
        if getattr(form, "is_email_optional", False):
            raise StopValidation
        raise StopValidation(EMAIL_REQUIRED)


def email_field(
    label: str = EMAIL_LABEL, required: Callable[[Form, Field], None] | None = None
) -> StringField:
    """A person's email address, checked as every public form checks it."""
    return StringField(
        label,
        filters=[strip],
        validators=[required or DataRequired(EMAIL_REQUIRED), Length(max=254), email_check],
    )


def person_name_field(label: str, required_message: str) -> StringField:
    """A person's name as they sign it: one line, no address, link or hidden characters."""
    return StringField(
        label,
        filters=[strip],
        validators=[DataRequired(required_message), Length(max=120), single_line, person_name],
    )


class OwnWordsLength(Length):
    """The length of a person's own words; when they are off, how many they have written.

    Without JavaScript there is no live count, and someone who pasted a page needs to know
    how much to cut. The field's flags (minlength, maxlength) are Length's, so the page
    states and counts against the same numbers.
    """

    def __call__(self, form: Form, field: Field) -> None:
        length = len(field.data or "")
        if length < self.min:
            raise ValidationError(
                f"Please write at least {self.min} characters in your own words "
                f"(so far {length:,})."
            )
        if self.max != -1 and length > self.max:
            raise ValidationError(
                f"Please keep your own words to {self.max:,} characters: they are "
                f"{length:,}, {length - self.max:,} too many."
            )


def own_words_field(required_message: str, description: str | None = None) -> TextAreaField:
    """What a person adds in their own words, between MIN_ and MAX_PERSONAL_WORDS characters."""
    return TextAreaField(
        "In your own words",
        description=description,
        filters=[multiline_filter],
        validators=[
            DataRequired(required_message),
            OwnWordsLength(min=MIN_PERSONAL_WORDS, max=MAX_PERSONAL_WORDS),
        ],
    )


class LetterForm(SignedForm):
    """What the person writes, and what the preview carries forward."""

    name = person_name_field(
        "Your full name", "Please enter your name, so your MP knows who is writing."
    )
    email = email_field(required=EmailUnlessPrinted())
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
    # Said before anyone can go over them; the field renders the same numbers as its
    # minlength and data-maxlength, which journey.js counts against.
    personal_words = own_words_field(
        "Please add a few words of your own. Personal letters carry far more weight with MPs "
        "than identical copies.",
        description=(
            f"Between {MIN_PERSONAL_WORDS} and {MAX_PERSONAL_WORDS:,} characters: a sentence "
            "or two is enough, a page at most."
        ),
    )
    letter = HiddenField(validators=[DataRequired()])
    # The signed choice of constituency (see recipient.py); never a bare code.
    recipient = HiddenField()
    partner = HiddenField()

    # Set for an MP who publishes no email address: the letter is printed and nothing is
    # emailed, so an email address is optional (printed under the address if given).
    is_email_optional = False

    def set_email_optional(self, optional: bool) -> None:
        """Make the email address optional (a printed letter) or required (an emailed one)."""
        self.is_email_optional = optional
        self.email.flags.required = not optional
        self.email.label.text = f"{EMAIL_LABEL} (optional)" if optional else EMAIL_LABEL

    def recipient_choice(self) -> Recipient | None:
        """The constituency the server chose for this letter, or None if the token is bad.

        Verified once per form: the view and the postcode check both ask.
        """
        token = self.recipient.data
        cached: tuple[str | None, Recipient | None] | None = getattr(self, "_recipient", None)
        if cached is None or cached[0] != token:
            cached = (token, verify(token))
            self._recipient = cached
        return cached[1]

    def validate_postcode(self, field: Field) -> None:
        """The address's postcode must lie in the chosen constituency."""
        chosen = self.recipient_choice()
        if field.errors or chosen is None:
            return
        checked = check_postcode(chosen, field.data or "")
        self.postcode_elsewhere = checked.elsewhere
        if checked.problem:
            raise ValidationError(checked.problem)
        # Carried forward with the confirmed postcode (a token that already names it, as
        # on the send step, stays as it is: its age is bounded by the form token's).
        if checked.recipient != chosen:
            self.recipient.data = issue(checked.recipient)


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
        validators=[
            DataRequired(
                f"The letter cannot be empty. To get the campaign's letter back with your own "
                f'words, press "{REDRAFT_LABEL}".'
            ),
            Length(
                min=MIN_BODY,
                message=(
                    f"The letter is too short to send. To get the campaign's letter back with "
                    f'your own words, press "{REDRAFT_LABEL}".'
                ),
            ),
            Length(
                max=MAX_BODY,
                message=f"Please keep the letter to {MAX_BODY:,} characters at most.",
            ),
        ],
    )
    # A partner's "keep me informed" box: unticked unless the person ticks it, never
    # required, and apart from sending. The wording's id says which words they saw.
    partner_consent = BooleanField()
    consent_wording = HiddenField()
    redraft_label = REDRAFT_LABEL


class ConfirmForm(SignedForm):
    """The button that confirms a letter (a POST, so link scanners cannot confirm it)."""


class WithdrawForm(SignedForm):
    """The button that stops a letter awaiting confirmation and erases it (a POST, too)."""


class ResendForm(SignedForm):
    """The check-email page's button that sends the confirmation link again."""

    letter = HiddenField(validators=[DataRequired()])


class ChangeEmailForm(ResendForm):
    """A corrected email address for a letter awaiting confirmation."""

    email = email_field("The right email address")
