"""How the journey's pages address and date a letter, as a UK letter would."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from postcode_lookup import InvalidPostcode, parse_postcode

UK = ZoneInfo("Europe/London")


def _is_postcode(text: str) -> bool:
    try:
        parse_postcode(text)
    except InvalidPostcode:
        return False
    return True


def postal_line(address: str) -> str:
    """A postal address written in running text: "House of Commons, London SW1A 0AA".

    Its lines are joined with commas, except the postcode, which follows the town and is
    never broken across two lines (a no-break space holds its halves together).
    """
    lines = [line.strip().rstrip(",").strip() for line in address.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 1 and _is_postcode(lines[-1]):
        postcode = " ".join(lines[-1].split()).replace(" ", "\N{NO-BREAK SPACE}")
        lines[-2:] = [f"{lines[-2]} {postcode}"]
    return ", ".join(lines)


def letter_date(day: date) -> str:
    """A date as a UK letter gives it: "3 December 2026"."""
    return f"{day.day} {day:%B %Y}"


def uk_today() -> date:
    """Today's date in the UK, where the letter is posted."""
    return datetime.now(UK).date()
