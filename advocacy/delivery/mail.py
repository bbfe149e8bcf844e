"""Mail backends: one outgoing email in, a message id or a classified error out.

`SendGridBackend` talks to SendGrid's v3 mail send API; `OutboxBackend` writes .eml files for
development. Both raise the same exceptions, which tell the worker what to do next: retry later
(`TransientMailError`, `RateLimited`), give up on this message (`PermanentMailError`) or pause
sending until the API key is taken again (`MailAuthError`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import requests
from sendgrid.helpers.mail import (
    Category,
    ClickTracking,
    Content,
    CustomArg,
    From,
    Mail,
    MailSettings,
    OpenTracking,
    ReplyTo,
    SandBoxMode,
    SubscriptionTracking,
    To,
    TrackingSettings,
)

if TYPE_CHECKING:
    from advocacy.config import Settings

logger = logging.getLogger(__name__)

# Connect quickly or not at all; a read may take longer under load, but never as long as a
# worker's lease, or a second worker could start the same letter while this one waits.
CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 30.0


@dataclass(frozen=True)
class OutgoingEmail:
    """Everything needed to send one email, independent of the provider."""

    to_email: str
    to_name: str
    from_email: str
    from_name: str
    reply_to_email: str | None
    reply_to_name: str | None
    subject: str
    text: str
    html: str
    custom_args: dict[str, str] = field(default_factory=dict)
    categories: tuple[str, ...] = ()
    track: bool = False


@dataclass(frozen=True)
class SendResult:
    """What the provider told us about an accepted message."""

    message_id: str | None


class MailBackend(Protocol):
    """Sends one email; raises a MailError subclass when it cannot."""

    def send(self, email: OutgoingEmail) -> SendResult:
        """Hand one email to the provider."""
        ...


class MailError(Exception):
    """Base class of every mail backend error."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientMailError(MailError):
    """Worth retrying later: a 5xx, a timeout or a connection error.

    `maybe_accepted` is true when the request may have reached the provider before the
    failure (a read timeout, a connection dropped after sending), so a retry could duplicate.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        maybe_accepted: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
        self.maybe_accepted = maybe_accepted


class RateLimited(TransientMailError):
    """The provider's rate limit: nothing more can be sent until `reset_at` (Unix seconds)."""

    def __init__(self, reset_at: float, message: str = "rate limited") -> None:
        super().__init__(message, retry_after=max(0.0, reset_at - time.time()), status=429)
        self.reset_at = reset_at


class PermanentMailError(MailError):
    """The provider refused this message (400, 413...); retrying will not help."""

    def __init__(self, messages: list[str], *, status: int | None = None) -> None:
        super().__init__("; ".join(messages) or "rejected", status=status)
        self.messages = messages


class MailAuthError(MailError):
    """The API key was refused (401, 403): no message can be sent until someone fixes it."""


def error_messages(body: bytes | str) -> list[str]:
    """SendGrid's error messages, prefixed with their field where it names one.

    The field comes as a dotted path, the string "null", JSON null or not at all.
    """
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return []
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return []
    messages = []
    for error in errors:
        if not isinstance(error, dict):
            continue
        message = str(error.get("message") or "").strip()
        field_name = error.get("field")
        if isinstance(field_name, str) and field_name not in {"", "null"}:
            message = f"{field_name}: {message}"
        if message:
            messages.append(message)
    return messages


def header_name(name: str | None) -> str | None:
    """A display name as SendGrid's v3 API needs it: quoted when it holds `,` or `;`.

    SendGrid copies `name` into the header as it is, and a bare comma there splits
    "Khan, Ayesha" into two addresses (its documented limitation, and the fix it suggests).
    Quotes and backslashes inside are escaped; forms refuse them in names anyway.
    """
    if not name:
        return None
    if "," in name or ";" in name:
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def build_mail(email: OutgoingEmail) -> Mail:
    """The SendGrid request for an email, built with the library's helpers."""
    mail = Mail(
        from_email=From(email.from_email, header_name(email.from_name)),
        to_emails=To(email.to_email, header_name(email.to_name)),
        subject=email.subject,
    )
    mail.content = [Content("text/plain", email.text), Content("text/html", email.html)]
    if email.reply_to_email:
        mail.reply_to = ReplyTo(email.reply_to_email, header_name(email.reply_to_name))
    if email.custom_args:
        mail.custom_arg = [CustomArg(key, value) for key, value in email.custom_args.items()]
    if email.categories:
        mail.category = [Category(name) for name in email.categories]
    # Open and click tracking are off unless asked for: a pixel tells us when an MP reads a
    # constituent's letter, which is not ours to know, and rewritten links look like spam.
    mail.tracking_settings = TrackingSettings(
        click_tracking=ClickTracking(email.track, email.track),
        open_tracking=OpenTracking(email.track),
        subscription_tracking=SubscriptionTracking(False),
    )
    return mail


def _reset_at(headers: Any) -> float:
    """When the rate limit resets, from X-RateLimit-Reset; soon, if the header is unusable."""
    now = time.time()
    try:
        reset = float(headers.get("X-RateLimit-Reset", ""))
    except ValueError:
        return now + 1.0
    # A reset in the past (clock skew) still deserves a short pause; one far in the future
    # is capped so a bad header cannot park the worker for days.
    return min(max(reset, now + 0.5), now + 3600.0)


def _retry_after(headers: Any) -> float | None:
    try:
        return float(headers["Retry-After"])
    except (KeyError, ValueError, TypeError):
        return None


class SendGridBackend:
    """Sends through SendGrid's v3 mail send API.

    The payload is built with the `sendgrid` library's `Mail` helpers, but the transport is a
    `requests.Session` rather than `SendGridAPIClient`: the library's python-http-client opens
    a new urllib connection (TCP and TLS handshakes) for every request, while a session keeps
    a pooled keep-alive connection, and a worker sending concurrently would otherwise pay the
    handshake on every letter. Sessions are not documented as thread-safe, so each thread gets
    its own. Every call has explicit connect and read timeouts.
    """

    def __init__(
        self,
        api_key: str,
        host: str = "https://api.sendgrid.com",
        *,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT, READ_TIMEOUT),
        session_factory: Any = requests.Session,
    ) -> None:
        self.url = host.rstrip("/") + "/v3/mail/send"
        self.timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "advocacy-engine",
        }
        self._session_factory = session_factory
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._session_factory()
            self._local.session = session
        return session

    def send(self, email: OutgoingEmail) -> SendResult:
        """POST one email; return SendGrid's message id or raise a MailError."""
        return self._post(build_mail(email))

    def check_key(self, address: str) -> None:
        """Ask SendGrid whether it takes the API key, sending nothing; MailError if not.

        The request is a mail send in sandbox mode, which SendGrid authenticates, checks
        for the Mail Send permission and validates like any other but never delivers, so
        the check needs no permission beyond the one sending needs. Raises MailAuthError
        while the key is refused; a 2xx, or a 4xx about the message, means it is accepted.
        """
        mail = Mail(
            from_email=From(address),
            to_emails=To(address),
            subject="API key check",
            plain_text_content="Sandbox mode: never delivered.",
        )
        mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(True))
        try:
            self._post(mail)
        except PermanentMailError:
            return

    def _post(self, mail: Mail) -> SendResult:
        body = json.dumps(mail.get(), separators=(",", ":")).encode()
        try:
            response = self._session().post(
                self.url, data=body, headers=self._headers, timeout=self.timeout
            )
        except requests.ConnectTimeout as exc:
            raise TransientMailError("connection timed out") from exc
        except requests.Timeout as exc:
            raise TransientMailError("no response in time", maybe_accepted=True) from exc
        except requests.ConnectionError as exc:
            raise TransientMailError("connection failed", maybe_accepted=_maybe_sent(exc)) from exc
        except requests.RequestException as exc:
            raise TransientMailError(f"request failed: {type(exc).__name__}") from exc
        return self._result(response)

    @staticmethod
    def _result(response: requests.Response) -> SendResult:
        status = response.status_code
        if 200 <= status < 300:
            return SendResult(message_id=response.headers.get("X-Message-Id"))
        messages = error_messages(response.content)
        if status == 429:
            raise RateLimited(_reset_at(response.headers))
        if status in {401, 403}:
            detail = "; ".join(messages) or response.reason
            raise MailAuthError(f"SendGrid refused the API key ({status}: {detail})", status=status)
        if status >= 500:
            raise TransientMailError(
                f"SendGrid answered {status}",
                retry_after=_retry_after(response.headers),
                status=status,
            )
        raise PermanentMailError(messages or [f"SendGrid answered {status}"], status=status)

    def close(self) -> None:
        """Close this thread's pooled connection."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None


def _maybe_sent(exc: requests.ConnectionError) -> bool:
    """False only when the connection was never made, so the request cannot have arrived."""
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (NewConnectionError, ConnectTimeoutError, ConnectionRefusedError)):
            return False
        pending.extend([current.__cause__, current.__context__])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
    return True


class OutboxBackend:
    """Development backend: writes each message as an .eml file under instance/outbox/."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def send(self, email: OutgoingEmail) -> SendResult:
        """Write the message to the outbox and return a generated message id."""
        self.directory.mkdir(parents=True, exist_ok=True)
        message_id = uuid.uuid4().hex
        message = EmailMessage()
        message["From"] = formataddr((email.from_name, email.from_email))
        message["To"] = formataddr((email.to_name, email.to_email))
        if email.reply_to_email:
            message["Reply-To"] = formataddr((email.reply_to_name or "", email.reply_to_email))
        message["Subject"] = email.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(idstring=message_id, domain="outbox.invalid")
        for key, value in sorted(email.custom_args.items()):
            message[f"X-Custom-Arg-{key}"] = value
        if email.categories:
            message["X-Categories"] = ", ".join(email.categories)
        message.set_content(email.text)
        message.add_alternative(email.html, subtype="html")
        stem = f"{time.strftime('%Y%m%dT%H%M%S')}-{message_id}"
        self._write(f"{stem}.eml", bytes(message))
        # The .eml is quoted-printable, which breaks long links across lines; the .txt
        # beside it is the plain text as is, with its links listed, to click through.
        self._write(f"{stem}.txt", self.readable(email).encode())
        logger.info("outbox: wrote %s.eml and %s.txt", stem, stem)
        return SendResult(message_id=message_id)

    @staticmethod
    def readable(email: OutgoingEmail) -> str:
        """The message as a person reads it: the main headers, the text, then its links."""
        links = list(dict.fromkeys(re.findall(r"https?://[^\s<>\"]+", email.text)))
        lines = [
            f"From: {formataddr((email.from_name, email.from_email))}",
            f"To: {formataddr((email.to_name, email.to_email))}",
            f"Subject: {email.subject}",
            "",
            email.text.rstrip("\n"),
            "",
        ]
        if links:
            lines += ["Links in this message:", *links, ""]
        return "\n".join(lines)

    def _write(self, name: str, content: bytes) -> None:
        # Written aside and renamed, so a reader never sees half a file.
        partial = self.directory / f".{name}.partial"
        partial.write_bytes(content)
        os.replace(partial, self.directory / name)


def make_backend(settings: Settings) -> MailBackend:
    """The backend the settings ask for: SendGrid when configured, else the outbox."""
    if settings.mail_backend == "sendgrid":
        # A request must end well inside the worker's lease on the letter it carries.
        read_timeout = min(READ_TIMEOUT, max(1.0, settings.worker_lease_seconds / 3))
        return SendGridBackend(
            settings.sendgrid_api_key,
            settings.sendgrid_api_host,
            timeout=(min(CONNECT_TIMEOUT, read_timeout), read_timeout),
        )
    logger.info("mail goes to the development outbox, not to SendGrid")
    return OutboxBackend(Path(settings.instance_path) / "outbox")
