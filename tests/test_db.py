"""The engine factory."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from advocacy.db import make_engine


def test_make_engine_keeps_statement_parameters_out_of_errors(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn, pytest.raises(DBAPIError) as caught:
            conn.execute(
                text("SELECT * FROM no_such_table WHERE sender_name = :name"),
                {"name": "Ayesha Khan"},
            )
    finally:
        engine.dispose()
    assert "no_such_table" in str(caught.value)
    assert "Ayesha Khan" not in str(caught.value)
