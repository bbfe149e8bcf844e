"""Forms of the dashboard: the chart period (a plain GET form) and the personal export."""

from __future__ import annotations

from datetime import date, timedelta

from wtforms import DateField, Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

PERIOD_CHOICES = [
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("365", "Last year"),
    ("all", "Since the first signature"),
]
DEFAULT_DAYS = "30"
# A chart of more days than this is unreadable and its table too long to be useful.
MAX_SPAN_DAYS = 3 * 366


class PeriodForm(Form):
    """Which days the signature charts show: a preset, or a start and end date."""

    days = SelectField(
        "Period",
        choices=[SelectChoice(value, label) for value, label in PERIOD_CHOICES],
        default=DEFAULT_DAYS,
    )
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])

    def validate_end(self, field: DateField) -> None:
        """An explicit period must run forwards and not be absurdly long."""
        start, end = self.start.data, field.data
        if (start is None) != (end is None):
            raise ValidationError("Give both a start and an end date, or choose a period.")
        if start is not None and end is not None:
            if end < start:
                raise ValidationError("The end date is before the start date.")
            if (end - start).days > MAX_SPAN_DAYS:
                raise ValidationError("Choose a period of at most three years.")

    def span(self, today: date, first_day: date | None) -> tuple[date, date]:
        """The chosen (start, end), assuming the form validated."""
        if self.start.data is not None and self.end.data is not None:
            return self.start.data, self.end.data
        choice = self.days.data or DEFAULT_DAYS
        if choice == "all":
            start = first_day or today
            return max(start, today - timedelta(days=MAX_SPAN_DAYS)), today
        return today - timedelta(days=int(choice) - 1), today
