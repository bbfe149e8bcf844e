"""Forms of the self-service privacy pages."""

from __future__ import annotations

from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from advocacy.campaigns.forms import SignedForm, email_check, strip


class MyDataForm(SignedForm):
    """The address a person wants to see or erase the data of."""

    email = StringField(
        "Your email address",
        filters=[strip],
        validators=[DataRequired("Please enter your email address."), Length(max=320), email_check],
    )


class EraseForm(SignedForm):
    """Erase everything now: one tick to say they mean it."""

    confirm = BooleanField(
        "I understand: this erases my letters and details now, and cannot be undone",
        validators=[DataRequired("Please tick the box to confirm you want everything erased.")],
    )


class CountMeForm(SignedForm):
    """After sending from their own email: count me, with my constituency and nothing else."""

    constituency = HiddenField(validators=[DataRequired()])
    count_me = BooleanField("Count me: add one to this campaign's count for my constituency")


class EditedLetterForm(SignedForm):
    """The writer's own last word on a letter a reviewer edited."""

    body = TextAreaField(
        "Your letter",
        validators=[DataRequired("Your letter cannot be empty."), Length(max=12000)],
    )
