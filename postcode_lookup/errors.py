"""The errors postcode_lookup raises, each carrying what a page needs to explain it.

Every error has a stable ``code`` (for the JSON API's ``{"error": {"code", "message"}}``), a
plain-English ``message`` a page can show as is, and typed attributes for a page that wants to
say more. Messages never contain the postcode or any other personal data, so ``str(exc)`` is safe
to log.

``LookupUnavailable`` is the only error that means "try again later"; everything else is a
permanent answer about the input, in the GOV.UK Notify style of separating retryable failures from
permanent ones.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

__all__ = [
    "BFPOPostcode",
    "ConstituencyNotFound",
    "InvalidPostcode",
    "InvalidReason",
    "LookupUnavailable",
    "MemberNotFound",
    "NotInUK",
    "OutsideParliament",
    "OverseasPostcode",
    "PostcodeLookupError",
    "PostcodeNotFound",
    "PostcodeTerminated",
    "VacantSeat",
]

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class PostcodeLookupError(Exception):
    """Base class of every error raised by postcode_lookup."""

    code: ClassVar[str] = "lookup_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def retryable(self) -> bool:
        """True when the same request may succeed later."""
        return False


class InvalidReason(StrEnum):
    """Why a string is not a postcode, so a page can word its own hint."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    BAD_CHARACTERS = "bad_characters"
    INCOMPLETE = "incomplete"
    BAD_FORMAT = "bad_format"
    BAD_INWARD = "bad_inward"
    NOT_RECOGNISED = "not_recognised"


_INVALID_MESSAGES = {
    InvalidReason.EMPTY: "Enter your postcode, for example SW1A 1AA.",
    InvalidReason.TOO_LONG: "That is too long to be a postcode. Enter a postcode like SW1A 1AA.",
    InvalidReason.BAD_CHARACTERS: (
        "A postcode only has letters, numbers and a space. Enter a postcode like SW1A 1AA."
    ),
    InvalidReason.INCOMPLETE: (
        "That looks like only the first half of a postcode. Enter the full postcode, "
        "for example SW1A 1AA."
    ),
    InvalidReason.BAD_FORMAT: "That is not a valid UK postcode. Enter a postcode like SW1A 1AA.",
    InvalidReason.BAD_INWARD: (
        "The part after the space should be a number and two letters, like the 1AA in "
        "SW1A 1AA. Check where the space goes in your postcode and try again."
    ),
    InvalidReason.NOT_RECOGNISED: (
        "That postcode is not one we can look up. Check it and try again."
    ),
}


class InvalidPostcode(PostcodeLookupError):
    """The text is not a well-formed UK postcode."""

    code = "invalid_postcode"

    def __init__(self, reason: InvalidReason) -> None:
        super().__init__(_INVALID_MESSAGES[reason])
        self.reason = reason


class PostcodeNotFound(PostcodeLookupError):
    """A well-formed postcode that the postcode directory does not know."""

    code = "postcode_not_found"

    def __init__(self, postcode: str, message: str | None = None) -> None:
        super().__init__(
            message or "We could not find that postcode. Check it is the postcode where you live."
        )
        self.postcode = postcode


class PostcodeTerminated(PostcodeNotFound):
    """A postcode that existed once but Royal Mail has withdrawn."""

    code = "postcode_terminated"

    def __init__(self, postcode: str, *, year_terminated: int, month_terminated: int) -> None:
        when = str(year_terminated)
        if 1 <= month_terminated <= 12:
            when = f"{_MONTHS[month_terminated - 1]} {year_terminated}"
        super().__init__(
            postcode,
            f"That postcode stopped being used in {when}. "
            "Enter the current postcode for your address.",
        )
        self.year_terminated = year_terminated
        self.month_terminated = month_terminated


class OutsideParliament(PostcodeLookupError):
    """A real place that elects no Member of the UK Parliament (e.g. the Crown dependencies)."""

    code = "outside_parliament"

    def __init__(
        self, region: str, *, postcode: str | None = None, message: str | None = None
    ) -> None:
        super().__init__(
            message
            or f"{region} does not elect a Member of the UK Parliament, so there is no MP "
            "to write to for this postcode."
        )
        self.region = region
        self.postcode = postcode


class NotInUK(OutsideParliament):
    """A postcode outside the United Kingdom (British Forces or an overseas territory)."""

    code = "not_in_uk"


class OverseasPostcode(NotInUK):
    """A British overseas territory's postcode, e.g. FIQQ 1ZZ for the Falkland Islands."""

    code = "overseas_postcode"

    def __init__(self, region: str, *, postcode: str | None = None) -> None:
        super().__init__(
            region,
            postcode=postcode,
            message=f"That is a postcode for {region}, which does not elect a Member of the "
            "UK Parliament. If you are registered to vote in the UK, enter the postcode of "
            "that address.",
        )


class BFPOPostcode(NotInUK):
    """A British Forces Post Office address, which belongs to no constituency."""

    code = "bfpo_postcode"

    def __init__(
        self, region: str = "British Forces Post Office", *, postcode: str | None = None
    ) -> None:
        super().__init__(
            region,
            postcode=postcode,
            message="BFPO addresses do not belong to a constituency. Enter the postcode of the "
            "UK address where you are registered to vote.",
        )


class VacantSeat(PostcodeLookupError):
    """The constituency exists but has no MP at the moment (e.g. before a by-election)."""

    code = "vacant_seat"

    def __init__(
        self,
        constituency_name: str,
        *,
        constituency_id: int | None = None,
        constituency_code: str | None = None,
    ) -> None:
        super().__init__(
            f"{constituency_name} has no MP at the moment, usually because a by-election "
            "is due. Please try again once a new MP has been elected."
        )
        self.constituency_name = constituency_name
        self.constituency_id = constituency_id
        self.constituency_code = constituency_code


class ConstituencyNotFound(PostcodeLookupError):
    """Parliament's directory has no current constituency with this name."""

    code = "constituency_not_found"

    def __init__(self, constituency_name: str) -> None:
        super().__init__(f"We could not find the constituency {constituency_name}.")
        self.constituency_name = constituency_name


class MemberNotFound(PostcodeLookupError):
    """Parliament's directory has no member with this id."""

    code = "member_not_found"

    def __init__(self, member_id: int) -> None:
        super().__init__(f"We could not find member {member_id} in Parliament's directory.")
        self.member_id = member_id


class LookupUnavailable(PostcodeLookupError):
    """The upstream service did not answer usefully: down, slow, 5xx, or circuit open."""

    code = "lookup_unavailable"

    def __init__(
        self,
        service: str,
        reason: str,
        *,
        retryable: bool = True,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            f"We cannot reach {service} to look that up right now. "
            "Please try again in a few minutes."
        )
        self.service = service
        self.reason = reason
        self.retry_after = retry_after
        self._retryable = retryable

    @property
    def retryable(self) -> bool:
        """True for transient failures (timeouts, dropped connections, 5xx)."""
        return self._retryable

    def __str__(self) -> str:
        # The reason is for operators; it never contains a URL, so no postcode leaks into logs.
        return f"{self.service} unavailable: {self.reason}"
