"""parse_postcode: normalising, validating and classifying postcodes offline."""

from __future__ import annotations

import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postcode_lookup import (
    SPECIAL_POSTCODES,
    BFPOPostcode,
    InvalidPostcode,
    InvalidReason,
    NotInUK,
    OutsideParliament,
    OverseasPostcode,
    Postcode,
    SpecialKind,
    ensure_westminster,
    looks_foreign,
    parse_postcode,
)

LETTERS = string.ascii_uppercase
DIGITS = string.digits

# Hypothesis must not leave a .hypothesis directory in the repository.
PROPERTY_SETTINGS = settings(database=None, max_examples=300, deadline=None)


@pytest.mark.parametrize(
    ("raw", "normalised", "outward", "inward"),
    [
        ("SW1A 1AA", "SW1A 1AA", "SW1A", "1AA"),
        ("sw1a1aa", "SW1A 1AA", "SW1A", "1AA"),
        ("  Sw1A   1aA  ", "SW1A 1AA", "SW1A", "1AA"),
        ("M1 1AE", "M1 1AE", "M1", "1AE"),
        ("B33 8TH", "B33 8TH", "B33", "8TH"),
        ("CR2 6XH", "CR2 6XH", "CR2", "6XH"),
        ("DN55 1PT", "DN55 1PT", "DN55", "1PT"),
        ("W1A 0AX", "W1A 0AX", "W1A", "0AX"),
        ("EC1A 1BB", "EC1A 1BB", "EC1A", "1BB"),
        ("GIR 0AA", "GIR 0AA", "GIR", "0AA"),
        ("gir0aa", "GIR 0AA", "GIR", "0AA"),
        ("BR8\u00a07RE", "BR8 7RE", "BR8", "7RE"),  # non-breaking space
        ("BR8\t7RE\n", "BR8 7RE", "BR8", "7RE"),
        ("BR8-7RE", "BR8 7RE", "BR8", "7RE"),
        ("BR8\u200b7RE", "BR8 7RE", "BR8", "7RE"),  # zero-width space from copy-and-paste
        (
            "\uff22\uff32\uff18 \uff17\uff32\uff25",
            "BR8 7RE",
            "BR8",
            "7RE",
        ),  # full-width letters, digits
        ("KY1 1AB", "KY1 1AB", "KY1", "1AB"),  # Kirkcaldy, not the Cayman Islands
        ("M111AE", "M11 1AE", "M11", "1AE"),  # no separator typed: the parser splits
        ("M1 1 AE", "M1 1AE", "M1", "1AE"),  # several separators: nothing to honour
    ],
)
def test_parse_postcode_normalises_valid_input(
    raw: str, normalised: str, outward: str, inward: str
) -> None:
    postcode = parse_postcode(raw)
    assert postcode.normalised == normalised
    assert postcode.outward == outward
    assert postcode.inward == inward
    assert postcode.compact == outward + inward
    assert str(postcode) == normalised
    assert postcode.special is None
    assert postcode.has_westminster_constituency


def test_postcode_area_is_the_leading_letters() -> None:
    assert parse_postcode("SW1A 1AA").area == "SW"
    assert parse_postcode("M1 1AE").area == "M"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", InvalidReason.EMPTY),
        ("   \t ", InvalidReason.EMPTY),
        ("x" * 65, InvalidReason.TOO_LONG),
        ("SW1A 1AA SW1A", InvalidReason.TOO_LONG),
        ("SW1A 1A!", InvalidReason.BAD_CHARACTERS),
        ("SW1A_1AA", InvalidReason.BAD_CHARACTERS),
        ("ßW1 1AA", InvalidReason.BAD_CHARACTERS),  # "ß".upper() == "SS" must not rescue it
        ("SW1É 1AA", InvalidReason.BAD_CHARACTERS),
        ("SW1A", InvalidReason.INCOMPLETE),
        ("m1", InvalidReason.INCOMPLETE),
        ("SW1A 1A", InvalidReason.BAD_INWARD),
        ("1AA SW1", InvalidReason.BAD_FORMAT),
        ("ABC 1AA", InvalidReason.BAD_FORMAT),
        ("SW1A 11A", InvalidReason.BAD_FORMAT),
        ("12345", InvalidReason.BAD_FORMAT),
        ("BFPO", InvalidReason.BAD_FORMAT),
        # One separator typed, and not three characters after it: taken as a typo, never
        # re-split into another district ("M1 11AE" is not "M11 1AE").
        ("M1 11AE", InvalidReason.BAD_INWARD),
        ("SW1A1 AA", InvalidReason.BAD_INWARD),
        ("GU1 11AA", InvalidReason.BAD_INWARD),
        ("M1\u00a011AE", InvalidReason.BAD_INWARD),
        ("M1-11AE", InvalidReason.BAD_INWARD),
    ],
)
def test_parse_postcode_rejects_malformed_input_with_a_reason(
    raw: str, reason: InvalidReason
) -> None:
    with pytest.raises(InvalidPostcode) as caught:
        parse_postcode(raw)
    assert caught.value.reason is reason
    assert caught.value.message
    assert caught.value.code == "invalid_postcode"


@pytest.mark.parametrize(
    ("raw", "normalised", "region"),
    [
        ("JE2 3AB", "JE2 3AB", "Jersey"),
        ("je23ab", "JE2 3AB", "Jersey"),
        ("GY1 1AA", "GY1 1AA", "Guernsey"),
        ("GY9 3AA", "GY9 3AA", "Alderney"),
        ("GY10 1SA", "GY10 1SA", "Sark"),
        ("IM1 1AA", "IM1 1AA", "Isle of Man"),
        ("IM99 1PS", "IM99 1PS", "Isle of Man"),
    ],
)
def test_parse_postcode_classifies_crown_dependencies(
    raw: str, normalised: str, region: str
) -> None:
    postcode = parse_postcode(raw)
    assert postcode.normalised == normalised
    assert postcode.special is not None
    assert postcode.special.kind is SpecialKind.CROWN_DEPENDENCY
    assert postcode.special.region == region
    assert not postcode.has_westminster_constituency


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("BFPO 123", "BFPO 123"),
        ("bfpo1", "BFPO 1"),
        ("BFPO 2034", "BFPO 2034"),
        ("BF1 3AA", "BF1 3AA"),
    ],
)
def test_parse_postcode_classifies_bfpo(raw: str, normalised: str) -> None:
    postcode = parse_postcode(raw)
    assert postcode.normalised == normalised
    assert postcode.special is not None
    assert postcode.special.kind is SpecialKind.BFPO


@pytest.mark.parametrize(
    ("raw", "normalised", "region"),
    [
        ("ASCN 1ZZ", "ASCN 1ZZ", "Ascension Island"),
        ("STHL 1ZZ", "STHL 1ZZ", "Saint Helena"),
        ("TDCU 1ZZ", "TDCU 1ZZ", "Tristan da Cunha"),
        ("BBND 1ZZ", "BBND 1ZZ", "the British Indian Ocean Territory"),
        ("BIQQ 1ZZ", "BIQQ 1ZZ", "the British Antarctic Territory"),
        ("fiqq1zz", "FIQQ 1ZZ", "the Falkland Islands"),
        ("PCRN 1ZZ", "PCRN 1ZZ", "the Pitcairn Islands"),
        ("SIQQ 1ZZ", "SIQQ 1ZZ", "South Georgia and the South Sandwich Islands"),
        ("TKCA 1ZZ", "TKCA 1ZZ", "the Turks and Caicos Islands"),
        ("GX11 1AA", "GX11 1AA", "Gibraltar"),
        ("KY1-1100", "KY1-1100", "the Cayman Islands"),
        ("ky1 1100", "KY1-1100", "the Cayman Islands"),
        ("VG1110", "VG1110", "the British Virgin Islands"),
        ("MSR 1110", "MSR 1110", "Montserrat"),
        ("AI-2640", "AI-2640", "Anguilla"),
    ],
)
def test_parse_postcode_classifies_overseas_territories(
    raw: str, normalised: str, region: str
) -> None:
    postcode = parse_postcode(raw)
    assert postcode.normalised == normalised
    assert postcode.special is not None
    assert postcode.special.kind is SpecialKind.OVERSEAS_TERRITORY
    assert postcode.special.region == region


def test_special_postcodes_table_documents_every_kind() -> None:
    kinds = {rule.kind for rule in SPECIAL_POSTCODES}
    assert kinds == set(SpecialKind)
    assert all(rule.region for rule in SPECIAL_POSTCODES)


def test_ensure_westminster_accepts_ordinary_postcodes() -> None:
    ensure_westminster(parse_postcode("SW1A 1AA"))


def test_ensure_westminster_raises_outside_parliament_for_crown_dependencies() -> None:
    with pytest.raises(OutsideParliament) as caught:
        ensure_westminster(parse_postcode("JE2 3AB"))
    assert not isinstance(caught.value, NotInUK)
    assert caught.value.region == "Jersey"
    assert caught.value.postcode == "JE2 3AB"
    assert "Jersey" in caught.value.message


def test_ensure_westminster_raises_bfpo_postcode() -> None:
    with pytest.raises(BFPOPostcode) as caught:
        ensure_westminster(parse_postcode("BFPO 123"))
    assert caught.value.region == "British Forces Post Office"
    assert "registered to vote" in caught.value.message


def test_ensure_westminster_raises_overseas_postcode() -> None:
    with pytest.raises(OverseasPostcode) as caught:
        ensure_westminster(parse_postcode("FIQQ 1ZZ"))
    assert caught.value.region == "the Falkland Islands"
    assert isinstance(caught.value, NotInUK)


# Property tests


def _uk_postcodes() -> st.SearchStrategy[str]:
    letter = st.sampled_from(LETTERS)
    digit = st.sampled_from(DIGITS)
    outward = st.one_of(
        st.tuples(letter, digit),  # A9
        st.tuples(letter, digit, digit),  # A99
        st.tuples(letter, letter, digit),  # AA9
        st.tuples(letter, letter, digit, digit),  # AA99
        st.tuples(letter, digit, letter),  # A9A
        st.tuples(letter, letter, digit, letter),  # AA9A
    ).map("".join)
    inward = st.tuples(digit, letter, letter).map("".join)
    return st.builds(lambda o, i: f"{o} {i}", outward, inward)


_SPECIAL_EXAMPLES = ["BFPO 42", "KY2-1234", "VG1150", "MSR 1250", "AI-2640", "ASCN 1ZZ", "GIR 0AA"]


@st.composite
def _respelt(draw: st.DrawFn, postcode: str) -> str:
    """The same postcode typed differently: random case and stray whitespace."""
    out = []
    for char in postcode.replace(" ", "").replace("-", ""):
        out.append(char.lower() if draw(st.booleans()) else char)
        out.append(draw(st.sampled_from(["", "", "", " ", "  ", "\t", "\u00a0"])))
    return draw(st.sampled_from(["", " "])) + "".join(out)


@PROPERTY_SETTINGS
@given(st.text(max_size=80))
def test_parse_postcode_never_crashes_on_arbitrary_text(raw: str) -> None:
    try:
        postcode = parse_postcode(raw)
    except InvalidPostcode:
        return
    assert parse_postcode(postcode.normalised) == postcode


@PROPERTY_SETTINGS
@given(st.text(alphabet=LETTERS + DIGITS + " -\t" + "abcxyz", max_size=12))
def test_parse_postcode_never_crashes_on_postcode_like_text(raw: str) -> None:
    try:
        postcode = parse_postcode(raw)
    except InvalidPostcode:
        return
    assert isinstance(postcode, Postcode)
    assert parse_postcode(postcode.normalised).normalised == postcode.normalised


@PROPERTY_SETTINGS
@given(st.one_of(_uk_postcodes(), st.sampled_from(_SPECIAL_EXAMPLES)))
def test_parse_postcode_round_trips_valid_postcodes(text: str) -> None:
    postcode = parse_postcode(text)
    assert postcode.normalised == text
    assert parse_postcode(postcode.normalised).normalised == postcode.normalised
    assert parse_postcode(postcode.compact) == postcode


@PROPERTY_SETTINGS
@given(st.data(), st.one_of(_uk_postcodes(), st.sampled_from(_SPECIAL_EXAMPLES)))
def test_parse_postcode_spacing_and_case_variants_agree(data: st.DataObject, text: str) -> None:
    variant = data.draw(_respelt(text))
    expected = parse_postcode(text)
    parts = variant.split()
    if expected.special is None and len(parts) == 2 and len(parts[1]) != 3:
        # One separator, in the wrong place: a likely typo, never silently re-split.
        with pytest.raises(InvalidPostcode) as caught:
            parse_postcode(variant)
        assert caught.value.reason is InvalidReason.BAD_INWARD
    else:
        assert parse_postcode(variant) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "75008",
        "10115",
        "20500-0003",
        "2000",
        "100000",
        "01310-100",
        "K1A 0B1",
        "1012 AB",
        "D02 X285",
        "a65f4e2",
    ],
)
def test_looks_foreign_recognises_other_countries_postcodes(raw: str) -> None:
    assert looks_foreign(raw)


@pytest.mark.parametrize(
    "raw", ["SW1A 1AA", "M1 1AE", "GU111AA", "W1A 0AX", "SW1A", "nonsense", "BFPO 105", "", "12"]
)
def test_looks_foreign_never_claims_a_uk_shape(raw: str) -> None:
    assert not looks_foreign(raw)


@PROPERTY_SETTINGS
@given(st.one_of(_uk_postcodes(), st.sampled_from(_SPECIAL_EXAMPLES)).flatmap(_respelt))
def test_no_uk_shaped_postcode_looks_foreign(raw: str) -> None:
    # Respellings include likely typos ("M1 11AE"), which are refused but still UK-shaped.
    assert not looks_foreign(raw)
