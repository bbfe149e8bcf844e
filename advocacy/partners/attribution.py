"""Who brought a person to the form: a partner code, the host page's `source`, its origin.

They travel through every step of the journey as one signed value, so that nobody can move
a letter's credit to another partner by editing a hidden field, and so that the embedded
form knows which page it may talk to. The Referer header is never used: browsers and our
own pages strip it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "advocacy.partners.attribution"
_SOURCE_MAX = 100
# A source is a tag a partner puts in its own links (?source=newsletter-march): keep it a
# tag, never free text that could carry a name or an address into the figures.
_SOURCE_UNSAFE = re.compile(r"[^A-Za-z0-9._~+-]+")
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


@dataclass(frozen=True)
class Attribution:
    """The partner code, the source tag, and whether (and by which page) the form is framed."""

    partner: str = ""
    source: str = ""
    origin: str = ""
    is_embedded: bool = False

    @property
    def is_empty(self) -> bool:
        """True when nobody is credited and the form is not framed."""
        return not (self.partner or self.source or self.origin or self.is_embedded)


NOBODY = Attribution()


def clean_source(raw: str | None) -> str:
    """A source tag as stored: lower case, safe characters only, at most 100 of them."""
    return _SOURCE_UNSAFE.sub("-", (raw or "").strip().lower())[:_SOURCE_MAX].strip("-")


def clean_origin(raw: str | None) -> str:
    """An origin (scheme://host[:port]) or "" for anything else."""
    value = (raw or "").strip().rstrip("/").lower()
    return value if _ORIGIN.match(value) else ""


def sign(secret_key: str, attribution: Attribution) -> str:
    """The signed value carried in links and forms ("" when there is nothing to carry)."""
    if attribution.is_empty:
        return ""
    serializer = URLSafeSerializer(secret_key, salt=_SALT)
    value = [attribution.partner, attribution.source, attribution.origin, attribution.is_embedded]
    return str(serializer.dumps(value))


def verify(secret_key: str, token: str | None) -> Attribution:
    """The attribution a token carries; nobody for a missing, forged or malformed one."""
    if not token:
        return NOBODY
    try:
        value = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except BadSignature:
        return NOBODY
    if not (isinstance(value, list) and len(value) == 4):
        return NOBODY
    partner, source, origin, embedded = value
    if not all(isinstance(v, str) for v in (partner, source, origin)):
        return NOBODY
    return Attribution(
        partner=partner,
        source=clean_source(source),
        origin=clean_origin(origin),
        is_embedded=embedded is True,
    )
