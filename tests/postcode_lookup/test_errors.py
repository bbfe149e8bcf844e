"""The error hierarchy: what each error carries for a page, and which ones are retryable."""

from __future__ import annotations

import pytest

from postcode_lookup import (
    BFPOPostcode,
    ConstituencyNotFound,
    InvalidPostcode,
    InvalidReason,
    LookupUnavailable,
    MemberNotFound,
    NotInUK,
    OutsideParliament,
    OverseasPostcode,
    PostcodeLookupError,
    PostcodeNotFound,
    PostcodeTerminated,
    VacantSeat,
)

ALL_ERRORS: list[PostcodeLookupError] = [
    InvalidPostcode(InvalidReason.BAD_FORMAT),
    PostcodeNotFound("ZZ1 1ZZ"),
    PostcodeTerminated("AB1 0AA", year_terminated=1996, month_terminated=6),
    OutsideParliament("Jersey", postcode="JE2 3AB"),
    NotInUK("somewhere", postcode="XX1 1XX"),
    OverseasPostcode("the Falkland Islands", postcode="FIQQ 1ZZ"),
    BFPOPostcode(postcode="BFPO 123"),
    VacantSeat("Runcorn and Helsby", constituency_id=4321, constituency_code="E14001451"),
    ConstituencyNotFound("Atlantis"),
    MemberNotFound(1),
    LookupUnavailable("postcodes.io", "timeout (ReadTimeout)"),
]


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_errors_share_the_base_class_and_carry_code_and_message(
    error: PostcodeLookupError,
) -> None:
    assert isinstance(error, PostcodeLookupError)
    assert error.code
    assert error.message


@pytest.mark.parametrize("error", ALL_ERRORS, ids=lambda e: type(e).__name__)
def test_errors_messages_never_contain_the_postcode(error: PostcodeLookupError) -> None:
    postcode = getattr(error, "postcode", None)
    if postcode:
        assert postcode not in error.message
        assert postcode not in str(error)


def test_errors_codes_are_unique() -> None:
    codes = [type(error).code for error in ALL_ERRORS]
    assert len(codes) == len(set(codes))


def test_errors_only_lookup_unavailable_is_retryable() -> None:
    retryable = [type(e).__name__ for e in ALL_ERRORS if e.retryable]
    assert retryable == ["LookupUnavailable"]
    assert not LookupUnavailable("x", "circuit open", retryable=False).retryable


def test_postcode_terminated_is_a_not_found_with_the_date() -> None:
    error = PostcodeTerminated("AB1 0AA", year_terminated=1996, month_terminated=6)
    assert isinstance(error, PostcodeNotFound)
    assert (error.year_terminated, error.month_terminated) == (1996, 6)
    assert "June 1996" in error.message
    assert error.postcode == "AB1 0AA"


def test_postcode_terminated_tolerates_an_unknown_month() -> None:
    error = PostcodeTerminated("AB1 0AA", year_terminated=1996, month_terminated=0)
    assert "1996" in error.message


def test_outside_parliament_hierarchy_separates_crown_dependencies_from_not_in_uk() -> None:
    assert issubclass(NotInUK, OutsideParliament)
    assert issubclass(OverseasPostcode, NotInUK)
    assert issubclass(BFPOPostcode, NotInUK)
    assert not isinstance(OutsideParliament("Jersey"), NotInUK)


def test_vacant_seat_carries_the_constituency() -> None:
    error = VacantSeat("Runcorn and Helsby", constituency_id=4321, constituency_code="E14001451")
    assert error.constituency_name == "Runcorn and Helsby"
    assert error.constituency_id == 4321
    assert error.constituency_code == "E14001451"
    assert "Runcorn and Helsby" in error.message


def test_lookup_unavailable_carries_service_reason_and_retry_after() -> None:
    error = LookupUnavailable("postcodes.io", "circuit open", retryable=False, retry_after=12.5)
    assert (error.service, error.reason, error.retry_after) == (
        "postcodes.io",
        "circuit open",
        12.5,
    )
    assert str(error) == "postcodes.io unavailable: circuit open"
    assert "try again" in error.message


@pytest.mark.parametrize("reason", list(InvalidReason))
def test_invalid_postcode_has_a_message_for_every_reason(reason: InvalidReason) -> None:
    assert InvalidPostcode(reason).message
