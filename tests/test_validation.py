"""The shared input rules: control characters, names, email addresses, identifiers."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError

from advocacy import validation

C0_C1_DEL = [chr(c) for c in [*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0x80, 0x9F]]


@pytest.mark.parametrize("char", C0_C1_DEL)
def test_clean_multiline_drops_control_characters_but_keeps_lines_and_tabs(char: str) -> None:
    cleaned = validation.clean_multiline(f"one{char}two\n\tthree")
    assert "\n\tthree" in cleaned
    assert all(c in "\n\t" or c.isprintable() for c in cleaned)


@pytest.mark.parametrize("brk", ["\r\n", "\r", "\v", "\f", "\x85", "\u2028", "\u2029"])
def test_clean_multiline_turns_every_line_break_into_a_newline(brk: str) -> None:
    assert validation.clean_multiline(f"a{brk}b") == "a\nb"


@pytest.mark.parametrize("char", [*C0_C1_DEL, "\t", "\n"])
def test_remove_controls_leaves_one_printable_line(char: str) -> None:
    cleaned = validation.remove_controls(f"Ayesha{char}Khan")
    assert cleaned in {"AyeshaKhan", "Ayesha Khan"}
    assert validation.has_controls(f"Ayesha{char}Khan")


@pytest.mark.parametrize(
    "name",
    [
        "Ali\u202eilA",  # right-to-left override
        "Ali\u2066x\u2069",  # isolates
        "A\u200bli",  # zero-width space
        "A\u200dli",  # zero-width joiner
        "\ufeffAli",  # byte-order mark
        "Ali\u200f",  # right-to-left mark
    ],
)
def test_names_with_invisible_characters_are_noticed(name: str) -> None:
    assert validation.has_invisible(name)


@pytest.mark.parametrize(
    "name",
    [
        "boss@bank.example",
        "Boss <boss@bank.example>",
        'Ayesha "the boss" Khan',
        "Ayesha\\Khan",
        "Ayesha \uff20 Khan",  # full-width @ reads as @
        "Ayesha \ufe64script\ufe65",  # small < and >
    ],
)
def test_names_that_could_pass_for_an_address_are_refused(name: str) -> None:
    assert validation.name_problem(name) == validation.NAME_CHARACTERS_MESSAGE


@pytest.mark.parametrize(
    "name",
    [
        "http://evil.example",
        "see https://x.test/a",
        "www.example",
        "Visit example.org now",
        "EVIL.COM",
    ],
)
def test_names_with_web_addresses_are_refused(name: str) -> None:
    assert validation.name_problem(name) == validation.NAME_WEB_ADDRESS_MESSAGE


@pytest.mark.parametrize(
    "name",
    [
        "Ayesha Khan",
        "Seán O'Brien",
        "J. R. R. Tolkien",
        "Dr. A. Smith",
        "Jean-Luc Picard",
        "ئايشە خان",
        "Абдурахман",
        "李小龙",
        "Mary-Jane Watson, MBE",
    ],
)
def test_ordinary_names_pass(name: str) -> None:
    assert validation.name_problem(name) is None
    assert not validation.has_invisible(name)


def test_check_email_keeps_the_address_as_typed() -> None:
    assert validation.check_email("  Ayesha.Khan+Letters@Example.ORG ") == (
        "Ayesha.Khan+Letters@Example.ORG"
    )
    assert (
        validation.check_email("a@\u0430\u0440\u0440\u04cf\u0435.com")
        == "a@\u0430\u0440\u0440\u04cf\u0435.com"
    )  # one script: allowed


@pytest.mark.parametrize(
    "address", ["a@p\u0430ypal.com", "a@g\u03bfogle.com", "a@xn--pypal-4ve.com"]
)
def test_check_email_refuses_mixed_script_domains(address: str) -> None:
    with pytest.raises(EmailNotValidError, match="mixes letters"):
        validation.check_email(address)


@pytest.mark.parametrize("address", ["a@bücher.de", "a@日本語.jp", "a@ひらがな漢字.jp"])
def test_check_email_accepts_single_script_international_domains(address: str) -> None:
    assert validation.check_email(address) == address


def test_display_email_shows_international_domains_in_punycode() -> None:
    assert (
        validation.display_email("a@\u0430\u0440\u0440\u04cf\u0435.com") == "a@xn--80ak6aa92e.com"
    )
    assert validation.display_email("Ayesha@Example.org") == "Ayesha@Example.org"
    assert validation.display_email("not-an-address") == "not-an-address"


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [
        ("Ayesha@Example.ORG", "ayesha@example.org"),
        ("ayesha+2@example.org", "ayesha@example.org"),
        ("ayesha+campaign+x@example.org", "ayesha@example.org"),
        ("a.yes.ha@gmail.com", "ayesha@gmail.com"),
        ("A.Yesha+x@GoogleMail.com", "ayesha@gmail.com"),
        ("a.yesha@example.org", "a.yesha@example.org"),  # dots matter elsewhere
        ("+only@example.org", "+only@example.org"),  # nothing before the tag: keep it
        ("a@\u0430\u0440\u0440\u04cf\u0435.com", "a@xn--80ak6aa92e.com"),
    ],
)
def test_canonical_email(typed: str, canonical: str) -> None:
    assert validation.canonical_email(typed) == canonical


@pytest.mark.parametrize("value", ["E14001063", "N05000001", "S14000001", "W07000041"])
def test_constituency_codes(value: str) -> None:
    assert validation.is_constituency_code(value)


@pytest.mark.parametrize("value", ["", "E1400106", "E14001063\x00", "X14001063", "e14001063"])
def test_not_constituency_codes(value: str) -> None:
    assert not validation.is_constituency_code(value)


def test_slugs() -> None:
    assert validation.is_slug("stand-with-the-uyghurs")
    assert not validation.is_slug("a\x00b")
    assert not validation.is_slug("")
    assert not validation.is_slug("Upper")
