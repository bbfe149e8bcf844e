"""Log lines without postcodes or client addresses, whoever writes them.

The app's own lines never carry personal data. The servers' do: Werkzeug (the development
server) starts every line with the client's address and repeats a malformed request line
whole, query string and postcode included; gunicorn logs "Invalid request from ip=..." with
the request line, and the URI of a request it could not handle. The filter here rewrites
every record of those loggers, and every record that reaches the root logger's handlers,
before it is written: client addresses become `[address]`, query strings `?[query]` and
anything shaped like a full postcode `[postcode]`. The servers quote what they could not
parse ('1AA HTTP/1.1', when a space typed in a postcode split the request line), so in
their lines anything in single quotes becomes '[input]'.
"""

from __future__ import annotations

import ipaddress
import logging
import re

# The loggers of the servers the app runs under. Filters on a logger apply to the records
# logged on it, which is where these servers log (gunicorn's do not reach the root).
SERVER_LOGGERS = ("werkzeug", "gunicorn.error", "gunicorn.access")

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
# Candidates only: each is kept unless ipaddress reads it as an address (so "18:25:03" stays).
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])")
# A query string runs to the end of the request line it is in: a space typed in a postcode
# ends the URL for the server but not for the person ("?postcode=GU11 1AA HTTP/1.1").
_QUERY = re.compile(r"(/[^\s?'\"]*)\?(?:(?!\sHTTP/)[^'\"\n])*")
# A full postcode however it was typed or encoded: "GU11 1AA", "gu111aa", "GU11+1AA", "GU11%201AA".
_POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]?(?:\s*|\+|%20)[0-9][A-Z]{2}\b", re.IGNORECASE)


def _address(match: re.Match[str]) -> str:
    text = match.group(0)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text
    return "[address]"


_QUOTED_INPUT = re.compile(r"'[^'\n]*'")


def redact(text: str, *, from_server: bool = False) -> str:
    """The text with client addresses, query strings and postcodes taken out.

    `from_server` also blanks single-quoted text, which servers use to quote bad input.
    """
    if from_server:
        text = _QUOTED_INPUT.sub("'[input]'", text)
    text = _QUERY.sub(r"\1?[query]", text)
    text = _IPV4.sub(_address, text)
    text = _IPV6.sub(_address, text)
    return _POSTCODE.sub("[postcode]", text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with redact(); drops nothing."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact the record in place, once."""
        if getattr(record, "redacted", False):
            return True
        from_server = record.name.startswith(SERVER_LOGGERS)
        record.msg = redact(record.getMessage(), from_server=from_server)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, from_server=from_server)
        record.redacted = True
        return True


def install_redaction() -> None:
    """Put the filter on the servers' loggers and the root logger's handlers (idempotent)."""
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in SERVER_LOGGERS]
    targets.extend(logging.getLogger().handlers)
    for target in targets:
        if not any(isinstance(f, RedactingFilter) for f in target.filters):
            target.addFilter(RedactingFilter())
