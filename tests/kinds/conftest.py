"""Fixtures for the campaign kinds: the journey's fake postcodes.io and the seeded app."""

from __future__ import annotations

from tests.campaigns.conftest import postcodes_io, seeded, settings

__all__ = ["postcodes_io", "seeded", "settings"]
