"""The peer: a minimal Flask form app, the efficiency the submission path is measured against.

`/sign`: one field check, one SQLite INSERT (WAL, synchronous=NORMAL, as the app sets), a
303. No CSRF token, no rate limit, no templates, no ORM: what a submission would cost if it
did nothing else. PEER_DATABASE names its file.

`/letter`: the database work of a real submission and nothing else. It reads the fields the
app's send form posts, checks only that there is an `@` in the email, and runs the app's
three statements on a copy of the app's own schema (PEER_LETTERS_DATABASE, migrated and
seeded): the count of this person's letters awaiting confirmation, the INSERT of the letter
(with the triggers that keep the campaign's counters) and the INSERT of its confirmation
email, in one transaction on plain sqlite3. Its ratio is the most any submission that saves
a letter here could reach, whatever its form handling costs.

bench/submit.py serves it with the same gunicorn settings as the app and compares each with
the peer's own trivial endpoint in the same run.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

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


# The campaign, template and MP the benchmark's submissions are for (the seeded campaign's
# letter to the MP for Aldershot).
_CAMPAIGN_ID, _TEMPLATE_ID, _MEMBER_ID = 1, 1, 5173

_WAITING = (
    "SELECT count(id) FROM letters WHERE email_digest = ? AND campaign_id = ? "
    "AND state = 'awaiting_confirmation'"
)
_LETTER = (
    "INSERT INTO letters (public_id, campaign_id, template_id, template_version, source, "
    "email_digest, sender_name, sender_email, sender_address, sender_postcode, country_code, "
    "is_name_shared_with_mp, personal_text, subject, body_text, recipient_name, "
    "recipient_email, recipient_member_id, constituency_code, constituency_name, state, "
    "state_changed_at, created_at, awaiting_confirmation_at, idempotency_key, attempts, "
    "is_possible_duplicate) VALUES (?, ?, ?, 1, '', ?, ?, ?, ?, ?, 'GB', 0, ?, ?, ?, "
    "'Alex Baker', 'alex.baker.mp@parliament.uk', ?, 'E14001063', 'Aldershot', "
    "'awaiting_confirmation', ?, ?, ?, ?, 0, 0) RETURNING id"
)
_NOTIFICATION = (
    "INSERT INTO notifications (letter_id, kind, state, state_changed_at, created_at, "
    "idempotency_key, attempts, next_attempt_at, is_possible_duplicate) "
    "VALUES (?, 'confirmation', 'queued', ?, ?, ?, 0, ?, 0) RETURNING id"
)


def _letters_connection() -> sqlite3.Connection:
    """The app-schema database, one connection per thread, with the app's pragmas."""
    connection: sqlite3.Connection | None = getattr(_local, "letters", None)
    if connection is None:
        connection = sqlite3.connect(
            os.environ["PEER_LETTERS_DATABASE"], timeout=30, isolation_level=None
        )
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        _local.letters = connection
    return connection


@app.post("/letter")
def letter() -> ResponseReturnValue:
    """Save a letter and its confirmation email as the app does, with no form handling."""
    form = request.form
    email = form.get("email", "").strip()
    if "@" not in email:
        return "Please check your email address.", 422
    digest = hashlib.sha256(email.lower().encode()).hexdigest()
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    connection = _letters_connection()
    # As in the app, the count is read before the write transaction begins.
    connection.execute(_WAITING, (digest, _CAMPAIGN_ID)).fetchone()
    connection.execute("BEGIN")
    try:
        (letter_id,) = connection.execute(
            _LETTER,
            (
                uuid.uuid4().hex,
                _CAMPAIGN_ID,
                _TEMPLATE_ID,
                digest,
                form.get("name", ""),
                email,
                form.get("address", ""),
                form.get("postcode", ""),
                form.get("personal_words", ""),
                form.get("subject", ""),
                form.get("body", ""),
                _MEMBER_ID,
                now,
                now,
                now,
                uuid.uuid4().hex,
            ),
        ).fetchone()
        connection.execute(_NOTIFICATION, (letter_id, now, now, uuid.uuid4().hex, now)).fetchone()
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
    return redirect("/thanks", code=303)
