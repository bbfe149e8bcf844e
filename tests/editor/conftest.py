"""Fixtures for the campaign editor: the workspace's staff fixtures and the MP directory."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from advocacy.directory.snapshot import load_snapshot
from tests.workspace.conftest import _cheap_password_hashes, make_staff, staff_client

__all__ = ["_cheap_password_hashes", "make_staff", "staff_client"]


@pytest.fixture
def directory(app: Flask, session: Session) -> Flask:
    """The app with the shipped MP directory loaded."""
    load_snapshot(session)
    session.commit()
    return app
