"""Framework-free lookups: a postcode to its Westminster constituency, MP and contact details.

``parse_postcode`` checks and classifies a postcode offline; ``PostcodesIoClient`` finds its
constituency on postcodes.io; ``MembersApiClient`` finds the sitting MP and how to reach them in
Parliament's Members API. The clients take an injected ``requests.Session``, put connect and read
timeouts on every call, retry transient failures and stop calling a failing upstream through a
``CircuitBreaker``. Results are frozen dataclasses; failures are ``PostcodeLookupError``
subclasses that carry what a page needs to explain them. Nothing here imports Flask or the app.
"""

from .errors import (
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
from .foreign import looks_foreign
from .members_api import (
    DEFAULT_POSTAL_ADDRESS,
    EMAIL_OFFICE_ORDER,
    Constituency,
    Contact,
    Member,
    MembersApiClient,
    PostalAddress,
    constituency_key,
    same_constituency_name,
)
from .postcode import (
    SPECIAL_POSTCODES,
    Postcode,
    SpecialKind,
    SpecialPostcode,
    ensure_westminster,
    parse_postcode,
)
from .postcodes_io import BULK_LIMIT, PostcodeResult, PostcodesIoClient, is_westminster_code
from .resilience import BreakerState, CircuitBreaker, RetryPolicy

__all__ = [
    "BULK_LIMIT",
    "DEFAULT_POSTAL_ADDRESS",
    "EMAIL_OFFICE_ORDER",
    "SPECIAL_POSTCODES",
    "BFPOPostcode",
    "BreakerState",
    "CircuitBreaker",
    "Constituency",
    "ConstituencyNotFound",
    "Contact",
    "InvalidPostcode",
    "InvalidReason",
    "LookupUnavailable",
    "Member",
    "MemberNotFound",
    "MembersApiClient",
    "NotInUK",
    "OutsideParliament",
    "OverseasPostcode",
    "PostalAddress",
    "Postcode",
    "PostcodeLookupError",
    "PostcodeNotFound",
    "PostcodeResult",
    "PostcodeTerminated",
    "PostcodesIoClient",
    "RetryPolicy",
    "SpecialKind",
    "SpecialPostcode",
    "VacantSeat",
    "constituency_key",
    "ensure_westminster",
    "is_westminster_code",
    "looks_foreign",
    "parse_postcode",
    "same_constituency_name",
]
