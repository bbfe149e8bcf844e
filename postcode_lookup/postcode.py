"""Parse, normalise and classify UK-style postcodes without touching the network.

``parse_postcode`` accepts what people actually type (any case, any spacing, copy-pasted
non-breaking spaces, full-width characters, a hyphen instead of a space) and returns a
``Postcode`` whose ``normalised`` form is what Royal Mail prints, e.g. ``"SW1A 1AA"``.

Postcodes that look British but have no Westminster constituency are recognised from the one
table ``SPECIAL_POSTCODES`` below, so a page can explain them without asking postcodes.io.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .errors import (
    BFPOPostcode,
    InvalidPostcode,
    InvalidReason,
    OutsideParliament,
    OverseasPostcode,
)

__all__ = [
    "SPECIAL_POSTCODES",
    "Postcode",
    "SpecialKind",
    "SpecialPostcode",
    "SpecialRule",
    "ensure_westminster",
    "parse_postcode",
]


class SpecialKind(StrEnum):
    """The kinds of postcode that have no Westminster constituency."""

    CROWN_DEPENDENCY = "crown_dependency"
    BFPO = "bfpo"
    OVERSEAS_TERRITORY = "overseas_territory"


@dataclass(frozen=True)
class SpecialPostcode:
    """Why a postcode has no MP: its kind and the place, e.g. ("crown_dependency", "Jersey")."""

    kind: SpecialKind
    region: str


@dataclass(frozen=True)
class SpecialRule:
    """One row of SPECIAL_POSTCODES: a pattern over the compact form and what it means."""

    pattern: re.Pattern[str]
    kind: SpecialKind
    region: str
    separator: str = " "


def _rule(pattern: str, kind: SpecialKind, region: str, separator: str = " ") -> SpecialRule:
    return SpecialRule(re.compile(pattern), kind, region, separator)


_CROWN = SpecialKind.CROWN_DEPENDENCY
_BFPO = SpecialKind.BFPO
_OVERSEAS = SpecialKind.OVERSEAS_TERRITORY
_UK_INWARD = r"(?P<inward>\d[A-Z]{2})"

# Every postcode that parses but has no Westminster MP. Each pattern is matched in full, in order,
# against the compact upper-case form (no spaces or hyphens); the named groups give the outward
# and inward parts, and ``separator`` joins them back into the form the territory prints.
#
# * Crown dependencies use Royal Mail postcodes but have their own parliaments (the States of
#   Jersey, the States of Guernsey, Tynwald); postcodes.io lists them with country "Channel
#   Islands" / "Isle of Man" and a pseudo constituency code. GY9 is Alderney and GY10 Sark, both
#   in the Bailiwick of Guernsey; they come before the general GY row so the first match wins.
# * British Forces Post Office: "BFPO 123" numbers and the BF1 postcodes BFPO uses for civilian
#   senders. Service voters are registered at a UK address, so the page should ask for that.
# * British overseas territories: the single postcodes Royal Mail assigned to the South Atlantic
#   and other territories (ASCN 1ZZ ...), Gibraltar's GX11 1AA, and the national formats of the
#   Cayman Islands (KY1-1234, which never clashes with Kirkcaldy's KY1 1AB because its inward
#   part is four digits), the British Virgin Islands (VG1110), Montserrat (MSR 1110) and
#   Anguilla (AI-2640). Bermuda is deliberately absent: its codes ("HM 12", "SN 04") are two
#   letters and two digits, the same shape as a UK outward code on its own ("SN12"), and
#   misreading a half-typed Swindon postcode as Bermuda would give a worse message.
SPECIAL_POSTCODES: Final[tuple[SpecialRule, ...]] = (
    _rule(rf"(?P<outward>JE\d{{1,2}}){_UK_INWARD}", _CROWN, "Jersey"),
    _rule(rf"(?P<outward>GY9){_UK_INWARD}", _CROWN, "Alderney"),
    _rule(rf"(?P<outward>GY10){_UK_INWARD}", _CROWN, "Sark"),
    _rule(rf"(?P<outward>GY\d{{1,2}}){_UK_INWARD}", _CROWN, "Guernsey"),
    _rule(rf"(?P<outward>IM\d{{1,2}}){_UK_INWARD}", _CROWN, "Isle of Man"),
    _rule(r"(?P<outward>BFPO)(?P<inward>\d{1,4})", _BFPO, "British Forces Post Office"),
    _rule(rf"(?P<outward>BF1){_UK_INWARD}", _BFPO, "British Forces Post Office"),
    _rule(r"(?P<outward>ASCN)(?P<inward>1ZZ)", _OVERSEAS, "Ascension Island"),
    _rule(r"(?P<outward>BBND)(?P<inward>1ZZ)", _OVERSEAS, "the British Indian Ocean Territory"),
    _rule(r"(?P<outward>BIQQ)(?P<inward>1ZZ)", _OVERSEAS, "the British Antarctic Territory"),
    _rule(r"(?P<outward>FIQQ)(?P<inward>1ZZ)", _OVERSEAS, "the Falkland Islands"),
    _rule(r"(?P<outward>PCRN)(?P<inward>1ZZ)", _OVERSEAS, "the Pitcairn Islands"),
    _rule(
        r"(?P<outward>SIQQ)(?P<inward>1ZZ)",
        _OVERSEAS,
        "South Georgia and the South Sandwich Islands",
    ),
    _rule(r"(?P<outward>STHL)(?P<inward>1ZZ)", _OVERSEAS, "Saint Helena"),
    _rule(r"(?P<outward>TDCU)(?P<inward>1ZZ)", _OVERSEAS, "Tristan da Cunha"),
    _rule(r"(?P<outward>TKCA)(?P<inward>1ZZ)", _OVERSEAS, "the Turks and Caicos Islands"),
    _rule(rf"(?P<outward>GX11){_UK_INWARD}", _OVERSEAS, "Gibraltar"),
    _rule(r"(?P<outward>KY[1-3])(?P<inward>\d{4})", _OVERSEAS, "the Cayman Islands", "-"),
    _rule(r"(?P<outward>VG)(?P<inward>\d{4})", _OVERSEAS, "the British Virgin Islands", ""),
    _rule(r"(?P<outward>MSR)(?P<inward>\d{4})", _OVERSEAS, "Montserrat"),
    _rule(r"(?P<outward>AI)(?P<inward>2640)", _OVERSEAS, "Anguilla", "-"),
)

# The shape every ordinary UK postcode has: outward A9, A99, AA9, AA99, A9A or AA9A, then an
# inward digit and two letters. Royal Mail also restricts which letters go where, but checking
# the shape is enough to catch typing mistakes; postcodes.io decides whether the postcode exists.
_OUTWARD: Final = re.compile(r"[A-Z]{1,2}\d[A-Z\d]?")
_INWARD: Final = re.compile(r"\d[A-Z]{2}")
_GIROBANK: Final = "GIR0AA"

# Longer input than this is not a postcode; the cap also keeps NFKC normalisation cheap.
_MAX_INPUT_LENGTH: Final = 64
_MAX_COMPACT_LENGTH: Final = 8


@dataclass(frozen=True)
class Postcode:
    """A syntactically valid postcode, normalised, with its special classification if any."""

    outward: str
    inward: str
    normalised: str
    special: SpecialPostcode | None = None

    @property
    def compact(self) -> str:
        """The postcode without separators, e.g. "SW1A1AA"."""
        return self.outward + self.inward

    @property
    def area(self) -> str:
        """The leading letters of the outward code, e.g. "SW"."""
        return "".join(itertools.takewhile(str.isalpha, self.outward))

    @property
    def has_westminster_constituency(self) -> bool:
        """False for Crown dependencies, BFPO and overseas territories."""
        return self.special is None

    def __str__(self) -> str:
        return self.normalised


def _is_separator(char: str) -> bool:
    # Spaces of every kind, hyphens and dashes separate; zero-width and other format characters
    # arrive with copy-and-paste and mean nothing.
    return char.isspace() or unicodedata.category(char) in {"Pd", "Cf"}


def _misplaced_separator(text: str) -> bool:
    """True when exactly one separator was typed and what follows it is not three characters.

    Re-splitting "M1 11AE" as "M11 1AE" would silently pick another district, so a single
    separator is taken as meant: only the inward code (digit, letter, letter) may follow it.
    With no separator, or several, there is nothing to honour and the parser splits.
    """
    runs: list[str] = []
    in_separator = True
    for char in text:
        if unicodedata.category(char) == "Cf":
            continue
        if char.isspace() or unicodedata.category(char) == "Pd":
            in_separator = True
            continue
        if in_separator:
            runs.append("")
            in_separator = False
        runs[-1] += char
    return len(runs) == 2 and len(runs[1]) != 3


def parse_postcode(raw: str) -> Postcode:
    """Parse and normalise a postcode, raising InvalidPostcode with a reason if malformed."""
    if len(raw) > _MAX_INPUT_LENGTH:
        raise InvalidPostcode(InvalidReason.TOO_LONG)
    text = unicodedata.normalize("NFKC", raw)
    compact = "".join(char for char in text if not _is_separator(char))
    if not compact:
        raise InvalidPostcode(InvalidReason.EMPTY)
    # Check before upper-casing: "ß".upper() is "SS", which would turn junk into a postcode.
    if not (compact.isascii() and compact.isalnum()):
        raise InvalidPostcode(InvalidReason.BAD_CHARACTERS)
    compact = compact.upper()
    if len(compact) > _MAX_COMPACT_LENGTH:
        raise InvalidPostcode(InvalidReason.TOO_LONG)

    for rule in SPECIAL_POSTCODES:
        match = rule.pattern.fullmatch(compact)
        if match:
            outward, inward = match.group("outward"), match.group("inward")
            return Postcode(
                outward=outward,
                inward=inward,
                normalised=f"{outward}{rule.separator}{inward}",
                special=SpecialPostcode(rule.kind, rule.region),
            )

    if _misplaced_separator(text):
        raise InvalidPostcode(InvalidReason.BAD_INWARD)
    if compact == _GIROBANK:
        return Postcode(outward="GIR", inward="0AA", normalised="GIR 0AA")
    if _OUTWARD.fullmatch(compact):
        raise InvalidPostcode(InvalidReason.INCOMPLETE)
    outward, inward = compact[:-3], compact[-3:]
    if _OUTWARD.fullmatch(outward) and _INWARD.fullmatch(inward):
        return Postcode(outward=outward, inward=inward, normalised=f"{outward} {inward}")
    raise InvalidPostcode(InvalidReason.BAD_FORMAT)


def ensure_westminster(postcode: Postcode) -> None:
    """Raise OutsideParliament (or its NotInUK subclasses) if the postcode has no MP."""
    special = postcode.special
    if special is None:
        return
    if special.kind is SpecialKind.BFPO:
        raise BFPOPostcode(special.region, postcode=postcode.normalised)
    if special.kind is SpecialKind.OVERSEAS_TERRITORY:
        raise OverseasPostcode(special.region, postcode=postcode.normalised)
    raise OutsideParliament(special.region, postcode=postcode.normalised)
