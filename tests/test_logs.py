"""The servers' own log lines (Werkzeug, gunicorn) carry no postcode and no client address."""

from __future__ import annotations

import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from werkzeug.serving import make_server

from advocacy.logs import RedactingFilter, redact
from tests.conftest import free_port

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# Request lines as a person's typing makes them: the space in a postcode splits the line.
BAD_REQUESTS = [
    b"GET /api/mp?postcode=GU11 1AA HTTP/1.1\r\nHost: localhost\r\n\r\n",
    b"GET /campaigns/x/mp?postcode=GU111AA HTTP/7.1\r\nHost: localhost\r\n\r\n",
    b"GET /api/mp?postcode=GU11%201AA&x=1 \x01HTTP/1.1\r\n\r\n",
]
FRAGMENTS = ("GU11", "1AA", "GU111AA", "127.0.0.1")


def send_raw(port: int, payload: bytes) -> bytes:
    """Send bytes as they are and read the answer (whatever the server makes of them)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(payload)
        chunks = []
        try:
            while chunk := conn.recv(65536):
                chunks.append(chunk)
        except (TimeoutError, ConnectionResetError):
            pass
    return b"".join(chunks)


def leaked(text: str) -> list[str]:
    """The postcode fragments and client addresses found in some log text."""
    return [f for f in FRAGMENTS if re.search(rf"(?<![\w.]){re.escape(f)}(?![\w.])", text, re.I)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '127.0.0.1 - - [02/Dec/2026 18:25:03] "GET /api/mp?postcode=GU11+1AA HTTP/1.1" 200 -',
            '[address] - - [02/Dec/2026 18:25:03] "GET /api/mp?[query] HTTP/1.1" 200 -',
        ),
        (
            "Error handling request /campaigns/x/mp?postcode=gu11 1aa",
            "Error handling request /campaigns/x/mp?[query]",
        ),
        ("from ::1 and 2001:db8::7, at 18:25:03", "from [address] and [address], at 18:25:03"),
        ("lookup of sw1a 1aa, SW1A1AA, SW1A%201AA", "lookup of [postcode], [postcode], [postcode]"),
        (
            "letter 12 to E14001063 by worker vm:2893:c07b26",
            "letter 12 to E14001063 by worker vm:2893:c07b26",
        ),
    ],
)
def test_redact(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_servers_quoted_input_is_blanked_only_in_their_own_lines() -> None:
    line = "Invalid request from ip=10.1.2.3: Invalid HTTP Version: '1AA HTTP/1.1'"
    assert redact(line, from_server=True) == (
        "Invalid request from ip=[address]: Invalid HTTP Version: '[input]'"
    )
    record = logging.LogRecord("gunicorn.error", logging.WARNING, __file__, 1, line, None, None)
    RedactingFilter().filter(record)
    assert "1AA" not in record.getMessage()
    ours = logging.LogRecord("advocacy.x", logging.INFO, __file__, 1, "state 'queued'", None, None)
    RedactingFilter().filter(ours)
    assert ours.getMessage() == "state 'queued'"


def test_a_traceback_is_redacted_too() -> None:
    try:
        raise ValueError("no MP for GU11 1AA")
    except ValueError:
        record = logging.LogRecord(
            "advocacy.errors", logging.ERROR, __file__, 1, "boom", None, sys.exc_info()
        )
    RedactingFilter().filter(record)
    assert "GU11 1AA" not in logging.Formatter().format(record)
    assert "[postcode]" in (record.exc_text or "")


def test_the_dev_server_logs_bad_requests_without_postcode_or_address(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="werkzeug")
    port = free_port(18100, 18124)
    server = make_server("127.0.0.1", port, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answers = [send_raw(port, payload) for payload in BAD_REQUESTS]
        ok = requests.get(f"http://127.0.0.1:{port}/api/mp?postcode=GU11+1AA", timeout=10)
    finally:
        server.shutdown()
        thread.join(timeout=10)
    # Werkzeug answers in HTTP/1.1 once any threaded server has run in this process.
    assert answers[0].startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), answers
    assert ok.status_code in {200, 503}
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    assert any("[address]" in line for line in lines), lines
    assert any("Bad request" in line for line in lines), lines
    assert leaked("\n".join(lines)) == [], lines


@pytest.mark.slow
def test_gunicorn_logs_bad_requests_without_postcode_or_address(
    database_url: str, tmp_path: Path
) -> None:
    port = free_port(18125, 18149)
    env = {
        "PATH": "/usr/bin:/bin",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "MAIL_BACKEND": "outbox",
        "POSTCODES_IO_URL": "http://127.0.0.1:9",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    gunicorn = Path(sys.executable).with_name("gunicorn")
    process = subprocess.Popen(
        [str(gunicorn), "--workers", "1", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    break
                time.sleep(0.2)
        for payload in BAD_REQUESTS:
            send_raw(port, payload)
        # The worker writes its lines a moment after answering.
        time.sleep(0.5)
    finally:
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=60)[0].decode()
    # The worker's lines about requests, not the master's "Listening at" (its own address).
    lines = [line for line in output.splitlines() if "request" in line.lower()]
    assert any("Invalid request from ip=[address]" in line for line in lines), output
    assert leaked("\n".join(lines)) == [], output
