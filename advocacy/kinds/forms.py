"""Forms of the signing journeys (petitions, pledges): signers from anywhere."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from advocacy.campaigns.forms import (
    SignedForm,
    email_field,
    own_words_field,
    person_name_field,
    postcode_field_check,
    strip,
)
from advocacy.kinds import countries
from advocacy.validation import multiline_filter, single_line

MAX_COMMENT = 200
COUNTRY_CHOICES = [
    SelectChoice("", "Choose your country"),
    *(SelectChoice(code, label) for code, label in countries.choices()),
]


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

    name = person_name_field(
        "Your full name", "Please enter your name: it is what the officials will read."
    )
    email = email_field()
    country = SelectField(
        "Your country",
        choices=COUNTRY_CHOICES,
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
    share_with_mp = BooleanField("My MP may see my name (UK signers)")
    partner = HiddenField()


RETURN_CHOICES = [
    SelectChoice("organisation", "The organisation's address (recommended)"),
    SelectChoice("mine", "My own address"),
    SelectChoice("none", "No return address"),
]


class PrintedLetterForm(SignedForm):
    """A printed letter: who to, the writer's name and country, their words, a return address."""

    recipient = SelectField("Who you are writing to", coerce=int, validate_choice=True)
    name = person_name_field("Your name, as you will sign it", "Please enter your name.")
    country = SelectField(
        "Your country",
        choices=COUNTRY_CHOICES,
        validators=[DataRequired("Please choose your country: it decides the paper size.")],
    )
    personal_words = own_words_field(
        "Please add a few words of your own: they are what the reader remembers."
    )
    return_choice = RadioField(
        "Return address", choices=RETURN_CHOICES, default="organisation", validate_choice=True
    )
    return_address = TextAreaField("Your address", filters=[strip], validators=[Length(max=400)])

    def validate_return_address(self, field: TextAreaField) -> None:
        """Your own address is needed only if you chose to use it."""
        if self.return_choice.data == "mine" and not field.data:
            raise ValidationError("Please enter your address, or choose another option.")


class NominationForm(SignedForm):
    """A relative puts a detained person forward to receive letters."""

    detainee_name = StringField(
        "The detained person's name",
        filters=[strip],
        validators=[
            DataRequired("Please enter the name of the person who is detained."),
            Length(max=200),
            single_line,
        ],
    )
    prison_address = TextAreaField(
        "The prison's postal address",
        filters=[multiline_filter],
        validators=[
            DataRequired("Please enter the prison's address, so that letters can reach them."),
            Length(max=1000),
        ],
    )
    story = TextAreaField(
        "A short story (optional)",
        filters=[multiline_filter],
        validators=[Length(max=1500, message="Please keep the story to 1,500 characters.")],
    )
    nominator_name = StringField(
        "Your name",
        filters=[strip],
        validators=[DataRequired("Please enter your name."), Length(max=200), single_line],
    )
    nominator_email = email_field()
    understood = BooleanField(
        "I have read the warning above, and the family agrees to this nomination",
        validators=[DataRequired("Please confirm that you have read the warning.")],
    )


class EventLetterForm(SignedForm):
    """A letter written at an event, for the organisers to print with the others."""

    recipient = HiddenField(validators=[DataRequired()])
    name = person_name_field("Your name, as you will sign it", "Please enter your name.")
    country = SelectField(
        "Your country",
        choices=COUNTRY_CHOICES,
        validators=[DataRequired("Please choose your country: it decides the paper size.")],
    )
    personal_words = PrintedLetterForm.personal_words
    use_return_address = BooleanField("Put the organisation's address on the letter", default=True)
