"""Fixtures for the delivery screens: staff clients, fakes and a petition."""

from __future__ import annotations

from tests.kinds.conftest import fake_sendgrid, petition, postcodes_io, seeded, settings
from tests.workspace.conftest import _cheap_password_hashes, staff_client

__all__ = [
    "_cheap_password_hashes",
    "fake_sendgrid",
    "petition",
    "postcodes_io",
    "seeded",
    "settings",
    "staff_client",
]
