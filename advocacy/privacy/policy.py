"""The privacy policy in words, built from the settings so a page can never claim less."""

from __future__ import annotations

from dataclasses import dataclass

from advocacy.config import Settings
from advocacy.delivery.compose import CONFIRMATION_WINDOW
from advocacy.privacy.registry import policy, tables


def period(days: int) -> str:
    """A number of days as people say it: "28 days", "12 months", "2 years"."""
    if days and days % 365 == 0:
        years = days // 365
        return "12 months" if years == 1 else f"{years} years"
    return "1 day" if days == 1 else f"{days} days"


@dataclass(frozen=True)
class Policy:
    """What the public pages say about keeping data, from the running settings."""

    summary: str
    rules: list[str]
    holds: list[tuple[str, str]]
    # Phrases for other pages: "28 days after it is delivered", "12 months".
    words: str
    personal: str


def words_rule(settings: Settings) -> str:
    """When a letter's words go, in a phrase."""
    days = settings.letter_body_retention_days
    return "as soon as it is delivered" if days == 0 else f"{period(days)} after it is delivered"


def unconfirmed_rule(settings: Settings) -> str:
    """When a letter never confirmed goes, in a phrase."""
    link = period(CONFIRMATION_WINDOW.days)
    hours = settings.unconfirmed_retention_hours
    if hours == 0:
        return f"when its link expires ({link} after you wrote it)"
    return f"{hours} hours after its link expires ({link} after you wrote it)"


def build(settings: Settings) -> Policy:
    """The policy as the footer, the thank-you page and the privacy page state it."""
    summary = (
        f"We erase the words of your letter {words_rule(settings)}, and your name, email, "
        f"address and postcode within {period(settings.personal_data_retention_days)}. "
        f"A letter you never confirm is erased {unconfirmed_rule(settings)}. "
        "Only the counts stay."
    )
    return Policy(
        summary=summary,
        rules=policy(settings),
        holds=[(entry.table, entry.holds) for entry in tables()],
        words=words_rule(settings),
        personal=period(settings.personal_data_retention_days),
    )
