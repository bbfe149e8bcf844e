"""The peer: a minimal Flask form app, the efficiency the submission path is measured against.

One field check, one SQLite INSERT (WAL, synchronous=NORMAL, as the app sets), a 303. No
CSRF token, no rate limit, no templates, no ORM: what a submission would cost if it did
nothing else. bench/submit.py serves it with the same gunicorn settings as the app and
compares it with its own trivial endpoint in the same run. PEER_DATABASE names its file.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from flask import Flask, redirect, request
from flask.typing import ResponseReturnValue

app = Flask(__name__)
_local = threading.local()


def _connection() -> sqlite3.Connection:
    """One connection per thread of each worker process, opened on first use."""
    connection: sqlite3.Connection | None = getattr(_local, "connection", None)
    if connection is None:
        connection = sqlite3.connect(os.environ["PEER_DATABASE"], timeout=30)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS signups (id INTEGER PRIMARY KEY, email TEXT UNIQUE)"
        )
        _local.connection = connection
    return connection


@app.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The peer's trivial endpoint."""
    return {"status": "ok"}


@app.post("/sign")
def sign() -> ResponseReturnValue:
    """Check one field, save one row, redirect."""
    email = request.form.get("email", "").strip()
    if "@" not in email or len(email) > 254:
        return "Please check your email address.", 422
    connection = _connection()
    with connection:
        connection.execute("INSERT INTO signups (email) VALUES (?)", (email,))
    return redirect("/thanks", code=303)
