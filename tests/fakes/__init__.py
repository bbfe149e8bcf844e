"""Loopback fakes of the upstream APIs, built from the recorded contracts.

    from tests.fakes import MembersApiFake, PostcodesIoFake

    with PostcodesIoFake() as postcodes, MembersApiFake() as members:
        postcodes.add_postcode("SW1A 1AA", constituency_code="E14001172")
        members.add_mp("Cities of London and Westminster", name_display="Rachel Blake")
        ... PostcodesIoClient(session, postcodes.url) ...

Both are FakeServer subclasses, so ``latency``, ``fail_next``, ``fail_always``, ``respond_next``,
``slow_next``, ``reset_next``, ``close_next``, ``clear_faults`` and the ``requests`` log work on
either.
"""

from .fixtures import CONSTITUENCIES_JSON, CONTRACTS_DIR, FIXTURES_DIR, MP_LOOKUP_CSV, load_contract
from .members_api import CONTACT_TYPES, MembersApiFake, MpRecord, contact_entry
from .postcodes_io import ERRORS as POSTCODES_IO_ERRORS
from .postcodes_io import PostcodesIoFake
from .server import FakeServer, RecordedRequest, Reply

__all__ = [
    "CONSTITUENCIES_JSON",
    "CONTACT_TYPES",
    "CONTRACTS_DIR",
    "FIXTURES_DIR",
    "MP_LOOKUP_CSV",
    "POSTCODES_IO_ERRORS",
    "FakeServer",
    "MembersApiFake",
    "MpRecord",
    "PostcodesIoFake",
    "RecordedRequest",
    "Reply",
    "contact_entry",
    "load_contract",
]
