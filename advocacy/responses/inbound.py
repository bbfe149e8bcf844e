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
from email.header import decode_header, make_header
from functools import lru_cache

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


class _Splitter:
    """A streaming multipart reader that keeps the wanted parts and drops the rest.

    Boundaries are found with bytes.find, so a post costs little more than copying it;
    only the tail of the buffer (enough to hold a boundary split across reads) is kept
    while an unwanted part streams past. Line ends may be CRLF (RFC 2046) or LF (as in
    SendGrid's own sample posts).
    """

    _HEADER_END = re.compile(rb"\r?\n\r?\n")
    _NAME = re.compile(rb'(?:^|[;\s])name="([^"]*)"', re.IGNORECASE | re.MULTILINE)
    _FILENAME = re.compile(rb"[;\s]filename\*?=", re.IGNORECASE)
    _MAX_PART_HEADERS = 16 * 1024

    def __init__(self, boundary: bytes) -> None:
        self.delimiter = b"\n--" + boundary
        self.parts: dict[str, bytes] = {}
        self.buffer = b"\n"  # the first boundary may open the body without a line break
        self.pos = 0  # where unread data starts in the buffer (slicing would copy it)
        self.state = "preamble"
        self.seen_boundary = False
        self.name: str | None = None
        self.kept = bytearray()
        self.cap = 0

    def _keep(self, start: int, end: int) -> None:
        room = self.cap - len(self.kept)
        if self.name is not None and room > 0:
            self.kept += self.buffer[start : min(end, start + room)]

    def feed(self, chunk: bytes) -> bool:
        """Take the next bytes of the body; True once the closing boundary was read."""
        self.buffer = self.buffer[self.pos :] + chunk if self.pos else self.buffer + chunk
        self.pos = 0
        while self.state != "done":
            if self.state in {"preamble", "body"}:
                if not self._to_boundary():
                    return False
            elif self.state == "after_boundary":
                if len(self.buffer) - self.pos < 2:
                    return False
                if self.buffer.startswith(b"--", self.pos):
                    self.state = "done"
                    break
                line_end = self.buffer.find(b"\n", self.pos)
                if line_end < 0:
                    return False
                self.pos = line_end + 1
                self.state = "headers"
            elif not self._part_headers():
                return False
        return True

    def _to_boundary(self) -> bool:
        """Pass the current part's data; True when its closing boundary was reached."""
        at = self.buffer.find(self.delimiter, self.pos)
        if at < 0:
            # Keep enough to hold a boundary (and a CR before it) split across reads.
            safe = len(self.buffer) - len(self.delimiter) - 1
            if safe > self.pos:
                if self.state == "body":
                    self._keep(self.pos, safe)
                self.pos = safe
            return False
        if self.state == "body":
            end = at - 1 if at > self.pos and self.buffer[at - 1] == 13 else at  # a CR
            self._keep(self.pos, end)
            if self.name is not None:
                self.parts[self.name] = bytes(self.kept)
        self.seen_boundary = True
        self.pos = at + len(self.delimiter)
        self.state = "after_boundary"
        return True

    def _part_headers(self) -> bool:
        """Read a part's headers; True once they are complete."""
        end = self._HEADER_END.search(self.buffer, self.pos)
        if end is None:
            if len(self.buffer) - self.pos > self._MAX_PART_HEADERS:
                raise MalformedPost("part headers too long")
            return False
        match = self._NAME.search(self.buffer, self.pos, end.start())
        name = match.group(1).decode("utf-8", "replace") if match else ""
        is_file = self._FILENAME.search(self.buffer, self.pos, end.start()) is not None
        self.cap = 0 if is_file else KEPT_PARTS.get(name, 0)
        self.name = name if self.cap else None
        self.kept = bytearray()
        # The data starts here; the line break before the next boundary belongs to it.
        self.pos = end.end()
        self.state = "body"
        return True


def read_parts(chunks: Iterable[bytes], boundary: bytes, max_bytes: int) -> dict[str, bytes]:
    """The kept parts of a multipart body read chunk by chunk; raise PostTooLarge past max."""
    splitter = _Splitter(boundary)
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise PostTooLarge
        if splitter.feed(chunk):
            return splitter.parts
    if not splitter.seen_boundary:
        raise MalformedPost("no multipart boundary in the body")
    return splitter.parts


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


class Headers:
    """The header fields of a message block, looked up case-insensitively.

    A few fields are all we read, so this unfolds and splits the block with two regular
    expressions rather than building an email.message.Message.
    """

    _FOLD = re.compile(rb"\r?\n[ \t]+")
    _FIELD = re.compile(rb"^([!-9;-~]+)[ \t]*:[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)

    def __init__(self, block: bytes) -> None:
        self._fields: dict[str, list[str]] = {}
        for name, value in self._FIELD.findall(self._FOLD.sub(b" ", block)):
            key = name.decode("ascii").lower()
            self._fields.setdefault(key, []).append(value.decode("utf-8", "replace"))

    def get(self, name: str) -> str | None:
        """The first value of a field, or None."""
        values = self._fields.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str]:
        """Every value of a field."""
        return self._fields.get(name.lower(), [])


def is_automatic(headers: Headers, subject: str) -> bool:
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


_ANGLE_ADDRESS = re.compile(r"<[^<>@\s]+@([^<>\s]+)>")
_BARE_ADDRESS = re.compile(r"[^<>@\s,;\"]+@([A-Za-z0-9.-]+)")


def is_mp_domain(sender: str) -> bool:
    """True when the sender's address is at parliament.uk (or one of its subdomains)."""
    match = _ANGLE_ADDRESS.search(sender) or _BARE_ADDRESS.search(sender)
    if match is None:
        return False
    domain = match.group(1).strip().rstrip(".").lower()
    return domain == MP_DOMAIN or domain.endswith("." + MP_DOMAIN)


@lru_cache(maxsize=8)
def _digest_key(secret_key: str) -> bytes:
    return hmac.new(secret_key.encode(), b"inbound-message-id", hashlib.sha256).digest()


def message_digest(headers: Headers, header_block: bytes, secret_key: str) -> str:
    """A keyed digest of the Message-ID (of the whole header block if there is none)."""
    message_id = (headers.get("Message-ID") or "").strip()
    material = message_id.encode("utf-8", "replace") if message_id else header_block
    return hmac.new(_digest_key(secret_key), material, hashlib.sha256).hexdigest()


def understand(parts: dict[str, bytes], secret_key: str) -> InboundReply:
    """Reduce a post's kept parts to the facts we record."""
    header_block = parts.get("headers")
    if header_block is None:
        header_block = header_section(parts.get("email", b""))
    headers = Headers(header_block)
    recipients = [parts.get("envelope", b""), parts.get("to", b""), parts.get("cc", b"")]
    recipients += [
        value.encode("utf-8", "replace")
        for name in ("To", "Cc", "Delivered-To")
        for value in headers.get_all(name)
    ]
    subject = (
        _text(parts["subject"]) if "subject" in parts else _header_text(headers.get("Subject"))
    )
    sender = _text(parts["from"]) if "from" in parts else _header_text(headers.get("From"))
    return InboundReply(
        tokens=tuple(find_tokens(*recipients)),
        message_digest=message_digest(headers, header_block, secret_key),
        is_automatic=is_automatic(headers, subject),
        is_from_mp=is_mp_domain(sender),
    )
