"""SendGrid Inbound Parse posts, read as a stream and reduced to three facts.

A post is `multipart/form-data`. In the default (parsed) mode the parts include `headers`
(the raw header block), `to`, `cc`, `from`, `subject` and `envelope` (JSON); in raw mode the
whole message is one `email` part. Only those parts are kept, each up to a small cap, and of
`email` only its header section; bodies, HTML and attachments pass through the parser and
are dropped as they arrive, so memory stays small whatever the size of the post.

What comes out (`InboundReply`) is the letters' reply tokens, whether the message was an
automatic reply, whether it came from the MP's domain, and a keyed digest that identifies
the message for de-duplication. Nothing else of the message leaves this module.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from functools import lru_cache

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from advocacy.responses.tokens import find_tokens

# The parts we read, and how much of each is kept.
_SMALL = 16 * 1024
_HEADERS = 128 * 1024
KEPT_PARTS = {
    "headers": _HEADERS,
    "email": _HEADERS,  # raw mode: only the header section is used
    "to": _SMALL,
    "cc": _SMALL,
    "from": _SMALL,
    "subject": _SMALL,
    "envelope": _SMALL,
}

MP_DOMAIN = "parliament.uk"

# Values of Precedence that mark machine-sent mail (RFC 3834 and long practice).
_AUTOMATIC_PRECEDENCE = frozenset({"auto_reply", "bulk", "junk"})
# Headers whose mere presence marks an autoresponder (unless they say "no").
_AUTORESPONDER_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder")
# Subject prefixes of out-of-office and acknowledgement messages, as Outlook, Gmail and
# common autoresponders write them.
_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(?:\[?auto(?:matic)?[\s_-]*(?:reply|response|respond|answer)\b|autoreply\b|"
    r"auto:|out\s+of\s+(?:the\s+)?office\b|ooo\b|away\s+from\s+(?:the\s+)?office\b|"
    r"(?:automatic\s+)?acknowledge?ment\b|abwesenheit)",
    re.IGNORECASE,
)


class PostTooLarge(Exception):
    """The post grew past the size limit while it was read."""


class MalformedPost(Exception):
    """The body is not the multipart form SendGrid sends."""


@dataclass(frozen=True)
class InboundReply:
    """What the campaign may know about one incoming message."""

    tokens: tuple[str, ...]
    message_digest: str
    is_automatic: bool
    is_from_mp: bool


class _Collector:
    """Keeps the wanted parts of a multipart stream, each up to its cap, and drops the rest."""

    def __init__(self) -> None:
        self.parts: dict[str, bytes] = {}
        self._name: str | None = None
        self._buffer = bytearray()
        self._cap = 0

    def drain(self, decoder: MultipartDecoder) -> bool:
        """Apply the decoder's pending events; True once the closing boundary was seen."""
        while True:
            event = decoder.next_event()
            if isinstance(event, NeedData):
                return False
            if isinstance(event, Epilogue):
                return True
            if isinstance(event, File):
                self._name = None
            elif isinstance(event, Field):
                self._cap = KEPT_PARTS.get(event.name, 0)
                self._name = event.name if self._cap else None
                self._buffer = bytearray()
            elif isinstance(event, Data) and self._name is not None:
                room = self._cap - len(self._buffer)
                if room > 0:
                    self._buffer += event.data[:room]
                if not event.more_data:
                    self.parts[self._name] = bytes(self._buffer)
                    self._name = None


def read_parts(chunks: Iterable[bytes], boundary: bytes, max_bytes: int) -> dict[str, bytes]:
    """The kept parts of a multipart body read chunk by chunk; raise PostTooLarge past max."""
    decoder = MultipartDecoder(boundary, max_form_memory_size=None)
    collector = _Collector()
    total = 0
    try:
        for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise PostTooLarge
            decoder.receive_data(chunk)
            if collector.drain(decoder):
                return collector.parts
        decoder.receive_data(None)
        collector.drain(decoder)
    except ValueError as exc:
        raise MalformedPost(str(exc)) from exc
    return collector.parts


def header_section(raw_message: bytes) -> bytes:
    """The header block of a raw message: everything before the first blank line."""
    match = re.search(rb"\r?\n\r?\n", raw_message)
    return raw_message[: match.start()] if match else raw_message


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _header_text(value: str | None) -> str:
    """A header value with RFC 2047 encoded words decoded."""
    if not value:
        return ""
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError):
        return value


def is_automatic(headers: Message, subject: str) -> bool:
    """True for out-of-office replies and automatic acknowledgements."""
    auto_submitted = (headers.get("Auto-Submitted") or "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    for name in _AUTORESPONDER_HEADERS:
        value = headers.get(name)
        if value is not None and value.strip().lower() not in {"no", "false", "0"}:
            return True
    if (headers.get("Precedence") or "").strip().lower() in _AUTOMATIC_PRECEDENCE:
        return True
    return bool(_AUTOMATIC_SUBJECT.match(subject))


def is_mp_domain(sender: str) -> bool:
    """True when the sender's address is at parliament.uk (or one of its subdomains)."""
    addresses = [address for _, address in getaddresses([sender]) if "@" in address]
    if not addresses:
        return False
    domain = addresses[0].rsplit("@", 1)[1].strip().rstrip(".>").lower()
    return domain == MP_DOMAIN or domain.endswith("." + MP_DOMAIN)


@lru_cache(maxsize=8)
def _digest_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"inbound-message-id", hashlib.sha256).digest()


def message_digest(headers: Message, header_block: bytes, secret_key: str) -> str:
    """A keyed digest of the Message-ID (of the whole header block if there is none)."""
    message_id = (headers.get("Message-ID") or "").strip()
    material = message_id.encode("utf-8", "replace") if message_id else header_block
    return hmac.new(_digest_key(secret_key), material, hashlib.sha256).hexdigest()


_PARSER = BytesHeaderParser(policy=policy.compat32)


def understand(parts: dict[str, bytes], secret_key: str) -> InboundReply:
    """Reduce a post's kept parts to the facts we record."""
    header_block = parts.get("headers")
    if header_block is None:
        header_block = header_section(parts.get("email", b""))
    headers = _PARSER.parsebytes(header_block)
    recipients = [parts.get("envelope", b""), parts.get("to", b""), parts.get("cc", b"")]
    recipients += [
        value.encode("utf-8", "replace")
        for name in ("To", "Cc", "Delivered-To")
        for value in headers.get_all(name) or []
    ]
    subject = _text(parts["subject"]) if "subject" in parts else _header_text(headers["Subject"])
    sender = _text(parts["from"]) if "from" in parts else _header_text(headers["From"])
    return InboundReply(
        tokens=tuple(find_tokens(*recipients)),
        message_digest=message_digest(headers, header_block, secret_key),
        is_automatic=is_automatic(headers, subject),
        is_from_mp=is_mp_domain(sender),
    )
