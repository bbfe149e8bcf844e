"""What people may type, in one place: every form and the JSON API use these rules.

Each rule is a plain function (services and the API call it) and, where a form needs one, a
WTForms filter or validator built on it. Messages are ours and say what to do; a refused
field is handed back cleaned wherever that is possible, so the person only checks it and
submits again and nothing they wrote is lost.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from email_validator import EmailNotValidError, validate_email
from wtforms import Field, Form
from wtforms.validators import ValidationError

# C0 controls, DEL and C1 controls (Unicode category Cc). NUL breaks PostgreSQL text, and
# any of them in a name or subject ends up in an email header.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In multi-line text every kind of line break becomes "\n": CRLF and CR from browsers,
# vertical tab and form feed from word processors, NEL and the Unicode separators.
_LINE_BREAKS = re.compile(r"\r\n|[\r\v\f\x85\u2028\u2029]")
_MULTILINE_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
_SINGLE_LINE_BREAKS = re.compile(r"[\n\r\v\f\x85\u2028\u2029]")

# Characters that change how a name displays without being seen: bidirectional overrides,
# embeddings, isolates and marks, zero-width spaces and joiners, the BOM, soft hyphen...
# (Unicode category Cf). In a From line they can make "Ali" read as something else.
_INVISIBLE = re.compile(
    r"[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)

# An address in a display name makes a letter look as if it came from that address;
# a double quote or backslash ends the quoted name early. Apostrophes stay: O'Brien.
_NAME_FORBIDDEN = frozenset('@<>"\\`')
# "://", "www." or a dot joined to a word on both sides ("example.org"): a web address,
# which the confirmation email would repeat to whatever address was typed.
_WEB_ADDRESS = re.compile(r"://|\bwww\.|[^\W_]\.[^\W\d_]{2,}", re.IGNORECASE)

# Identifiers that arrive in hidden fields and query strings.
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,99}")
_GSS_CODE = re.compile(r"[ENSW]\d{8}")

CONTROL_MESSAGE = (
    "This had invisible control characters in it, which we have taken out. "
    "Please check it and submit again."
)
ONE_LINE_MESSAGE = "Please keep this to one line."
INVISIBLE_MESSAGE = (
    "Your name had invisible formatting characters in it (such as text-direction or "
    "zero-width marks), which we have taken out. Please check it and submit again."
)
NAME_CHARACTERS_MESSAGE = (
    'Please enter just your name. It cannot contain @, <, >, " or a backslash, because '
    "your MP sees it beside the address the letter comes from."
)
NAME_WEB_ADDRESS_MESSAGE = "Please enter just your name. It cannot contain a web address."
MIXED_SCRIPT_MESSAGE = (
    "The part of your email address after the @ mixes letters from different alphabets, "
    "which is how look-alike addresses are made. Please check it and type it again."
)


# Text ---------------------------------------------------------------------------------------


def clean_multiline(value: str) -> str:
    """Multi-line text with "\\n" line breaks, tabs kept, every other control character gone."""
    return _MULTILINE_CONTROLS.sub("", _LINE_BREAKS.sub("\n", value))


def has_controls(value: str) -> bool:
    """True when single-line text holds a control character (tab included)."""
    return _CONTROLS.search(value) is not None


def remove_controls(value: str) -> str:
    """Single-line text: line breaks and tabs become spaces, other controls go."""
    return _CONTROLS.sub("", re.sub(r"[\t\n\r\v\f\x85\u2028\u2029]+", " ", value)).strip()


def has_invisible(value: str) -> bool:
    """True when text holds bidirectional controls or zero-width characters."""
    return _INVISIBLE.search(value) is not None


def name_problem(value: str) -> str | None:
    """Why a person's name cannot be used as a display name, or None if it can."""
    # Compatibility forms first: a full-width at sign (U+FF20) is an "@" to a mail client's reader.
    folded = unicodedata.normalize("NFKC", value)
    if any(char in _NAME_FORBIDDEN for char in folded):
        return NAME_CHARACTERS_MESSAGE
    if _WEB_ADDRESS.search(folded):
        return NAME_WEB_ADDRESS_MESSAGE
    return None


def is_slug(value: str) -> bool:
    """True for a campaign, letter or partner slug."""
    return _SLUG.fullmatch(value) is not None


def is_constituency_code(value: str) -> bool:
    """True for a GSS constituency code such as E14001063."""
    return _GSS_CODE.fullmatch(value) is not None


# Email addresses ----------------------------------------------------------------------------


def _script(char: str) -> str | None:
    """The script of a letter, from its Unicode name ("CYRILLIC SMALL LETTER A")."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    return name.split(" ", 1)[0] or None


# Scripts that are written together: Japanese mixes Han and both kana, Korean Han and
# Hangul, and Latin letters appear beside any of them (the UTS #39 "highly restrictive" idea).
_WRITTEN_TOGETHER = (
    frozenset({"CJK", "HIRAGANA", "KATAKANA", "LATIN"}),
    frozenset({"CJK", "HANGUL", "LATIN"}),
    frozenset({"CJK", "BOPOMOFO", "LATIN"}),
)


def is_mixed_script(label: str) -> bool:
    """True when one domain label mixes scripts that are not written together."""
    scripts = {script for script in map(_script, label) if script}
    if len(scripts) <= 1:
        return False
    return not any(scripts <= together for together in _WRITTEN_TOGETHER)


class MixedScriptDomain(EmailNotValidError):
    """An address whose domain mixes alphabets, as look-alike domains do."""


def check_email(value: str) -> str:
    """The address as typed (trimmed) if it is valid; raises EmailNotValidError if not.

    No DNS look-up leaves this server. The address is kept as the person typed it; what
    an MP or a mail server sees is `display_email`, with the domain in its ASCII form.
    """
    address = value.strip()
    result = validate_email(address, check_deliverability=False)
    if any(is_mixed_script(label) for label in result.domain.split(".")):
        raise MixedScriptDomain(MIXED_SCRIPT_MESSAGE)
    return address


def _ascii_domain(domain: str) -> str:
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain


def display_email(address: str) -> str:
    """An address with an internationalised domain in its ASCII (punycode) form.

    A Cyrillic look-alike of apple.com shows as `xn--80ak6aa92e.com`, so it cannot pass
    for the familiar domain in front of an MP; mail servers need this form anyway.
    """
    address = address.strip()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local}@{_ascii_domain(domain)}"


# Gmail ignores dots in the part before the @, and googlemail.com is the same mailbox.
_DOTS_IGNORED = frozenset({"gmail.com", "googlemail.com"})


def canonical_email(address: str) -> str:
    """The form of an address used to tell whether two letters come from one person.

    Lower-cased; the domain in ASCII; a "+tag" after the mailbox name dropped (most
    providers deliver name+anything@ to name@); for Gmail, dots in the name dropped and
    googlemail.com read as gmail.com. Only de-duplication uses it: mail goes to the address
    as typed.
    """
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    domain = _ascii_domain(domain).rstrip(".")
    mailbox, plus, _tag = local.partition("+")
    if plus and mailbox:
        local = mailbox
    if domain in _DOTS_IGNORED:
        local, domain = local.replace(".", ""), "gmail.com"
    return f"{local}@{domain}"


# WTForms filters and validators -------------------------------------------------------------


def multiline_filter(value: Any) -> Any:
    """Filter for multi-line fields: normalise line breaks, drop controls, trim."""
    return clean_multiline(value).strip() if isinstance(value, str) else value


def single_line(_form: Form, field: Field) -> None:
    """Refuse line breaks and control characters; hand the field back without them."""
    value = field.data
    if not isinstance(value, str):
        return
    if _SINGLE_LINE_BREAKS.search(value):
        message = ONE_LINE_MESSAGE
    elif has_controls(value):
        message = CONTROL_MESSAGE
    else:
        return
    field.data = remove_controls(value)
    raise ValidationError(message)


def person_name(_form: Form, field: Field) -> None:
    """A name fit for a From line: no invisible characters, addresses or web addresses."""
    value = field.data
    if not isinstance(value, str):
        return
    if has_invisible(value):
        field.data = _INVISIBLE.sub("", value).strip()
        raise ValidationError(INVISIBLE_MESSAGE)
    problem = name_problem(value)
    if problem:
        raise ValidationError(problem)
