"""A loopback fake of SendGrid's v3 mail send API that validates requests like the real one.

    with FakeSendGrid() as fake:                      # api key "SG.test-key"
        backend = SendGridBackend(fake.api_key, fake.url)
        fake.latency = 0.05                           # every request
        fake.rate_limit_next(2, reset_in=1.0)         # 429 + X-RateLimit-Reset
        fake.fail_next(3, status=500)                 # or 503, 413, 400, 401, 403...
        fake.reject_next(errors=[...])                # a 400 with these error objects
        fake.close_next() / fake.reset_next()         # no answer at all
        fake.slow_next(5.0)                           # answers (and accepts) after 5 s
        fake.fail_always(status=401)                  # a revoked key, until clear_faults()
        fake.accepted_for("letter_key", key)          # the messages accepted for a letter
        fake.sandboxed                                # sandbox-mode sends: checked, not sent

Built on tests/fakes/server.py. Shapes come from tests/fixtures/contracts/sendgrid/: 202 with an
empty body and X-Message-Id; errors as {"errors": [{"message", "field", "help"}]}; the recorded
400 bodies for invalid addresses; the spec's example messages for 401, 403, 404, 405, 413 and
500; the docs' 429 body; X-RateLimit-Limit/Remaining/Reset on every answer. Limits (categories,
custom_args, personalizations...) are read from the OpenAPI spec. Messages for other validation
errors are not recorded anywhere we have; they follow the wording of SendGrid's error docs.

A request that the fake delays (latency, slow_next) is still accepted after the delay even if
the client has given up, as the real API does: that is how a timed-out send that nonetheless
went out is simulated. The server is a real HTTP server, so worker subprocesses can use it.

A valid request with `mail_settings.sandbox_mode.enable` true is authenticated and validated
like any other, then answered 200 with an empty body and not delivered, as SendGrid documents
for sandbox mode ("send a test email to ensure that your request body is valid", in the
spec); such requests are kept in `sandboxed`, never in `accepted`.
"""

from __future__ import annotations

import base64
import json
import math
import re
import secrets
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from .fixtures import load_contract
from .server import FakeServer, RecordedRequest, Reply

__all__ = ["DEFAULT_API_KEY", "AcceptedMessage", "FakeSendGrid", "sendgrid_error"]

_SERVICE = "sendgrid"
DEFAULT_API_KEY = "SG.test-key.not-a-real-secret"
SEND_PATH = "/v3/mail/send"
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
# The whole request, content and attachments included, may not exceed 30 MB.
MAX_BODY_BYTES = 30 * 1024 * 1024

_RECORDED_400 = load_contract(_SERVICE, "mail_send_400_invalid_address_recorded.json")
_RECORDED_FROM_ERROR, _RECORDED_TO_ERROR = _RECORDED_400["errors"]
_RATE_LIMIT_BODY = load_contract(_SERVICE, "error_429_too_many_requests_docs.json")
_SPEC = load_contract(_SERVICE, "tsg_mail_v3.json")


def _spec_message(status: int) -> dict[str, Any]:
    """The spec's example error for a status: {"message": ..., "field": "null"}."""
    response = _SPEC["components"]["responses"][f"PostMailSend{status}"]
    examples = response["content"]["application/json"]["examples"]
    return dict(next(iter(examples.values()))["value"]["errors"][0])


_SPEC_ERRORS = {status: _spec_message(status) for status in (400, 401, 403, 404, 405, 413, 500)}
_SCHEMA = _SPEC["components"]["requestBodies"]["PostMailSend"]["content"]["application/json"][
    "schema"
]["properties"]
MAX_PERSONALIZATIONS = _SCHEMA["personalizations"]["maxItems"]
MAX_CATEGORIES = _SCHEMA["categories"]["maxItems"]
MAX_CATEGORY_LENGTH = _SCHEMA["categories"]["items"]["maxLength"]
MAX_RECIPIENTS = _SCHEMA["personalizations"]["items"]["properties"]["cc"]["maxItems"]
# The spec says so in prose only: custom_args may not exceed 10,000 bytes in total.
MAX_CUSTOM_ARGS_BYTES = 10_000

_EMAIL = re.compile(
    r"^[^@\s<>(),;:\"\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)


def sendgrid_error(message: str, field: str | None = None, help_anchor: str | None = None) -> dict:
    """One error object shaped like the recorded ones."""
    return {
        "message": message,
        "field": field,
        "help": f"{HELP}#{help_anchor}" if help_anchor else None,
    }


@dataclass(frozen=True)
class AcceptedMessage:
    """One message the fake accepted (answered 202)."""

    message_id: str
    payload: dict[str, Any]
    received_at: float

    def custom_args(self) -> dict[str, Any]:
        """Message-level custom_args merged with the first personalization's."""
        merged = dict(self.payload.get("custom_args") or {})
        for personalization in self.payload.get("personalizations") or []:
            merged.update(personalization.get("custom_args") or {})
        return merged

    @property
    def to(self) -> list[str]:
        """Every To address."""
        return [
            to["email"]
            for personalization in self.payload.get("personalizations") or []
            for to in personalization.get("to") or []
        ]

    def content(self, content_type: str) -> str | None:
        """The value of the content block of this type."""
        for block in self.payload.get("content") or []:
            if block.get("type") == content_type:
                return str(block.get("value"))
        return None


class FakeSendGrid(FakeServer):
    """POST /v3/mail/send with SendGrid's auth, validation, limits, errors and headers."""

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        rate_limit: int = 10_000,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(host=host)
        self.api_key = api_key
        self.rate_limit = rate_limit
        self._accepted: list[AcceptedMessage] = []
        self._sandboxed: list[dict[str, Any]] = []
        self._window_start = int(time.time()) // 60 * 60
        self._window_used = 0
        self._rate_limited_left = 0
        self._reset_in = 1.0

    # Faults with SendGrid's own bodies ------------------------------------------------------

    def error_reply(self, status: int) -> Reply:
        """SendGrid's body for a forced error status, with the rate-limit headers."""
        if status == 429:
            return self._rate_limited(reset_in=1.0)
        error = _SPEC_ERRORS.get(status) or {"message": "internal server error"}
        return self._json(status, {"errors": [error]})

    def rate_limit_next(self, count: int = 1, *, reset_in: float = 1.0) -> None:
        """Answer the next `count` sends 429, with X-RateLimit-Reset `reset_in` s after each."""
        with self._lock:
            self._rate_limited_left += count
            self._reset_in = reset_in

    def reject_next(
        self, count: int = 1, *, status: int = 400, errors: list[dict[str, Any]] | None = None
    ) -> None:
        """Answer the next sends with a 4xx and these error objects (default: the recorded 400)."""
        body = {"errors": errors} if errors is not None else _RECORDED_400
        self.respond_next(self._json(status, body), count, path=SEND_PATH)

    # What was accepted --------------------------------------------------------------------

    @property
    def accepted(self) -> list[AcceptedMessage]:
        """A copy of every accepted message, oldest first."""
        with self._lock:
            return list(self._accepted)

    def accepted_for(self, key: str, value: str) -> list[AcceptedMessage]:
        """The accepted messages whose custom_args have key == value."""
        return [m for m in self.accepted if m.custom_args().get(key) == value]

    def accepted_counts(self, key: str) -> Counter[str]:
        """How many times each value of a custom_args key was accepted."""
        return Counter(str(m.custom_args()[key]) for m in self.accepted if key in m.custom_args())

    @property
    def sandboxed(self) -> list[dict[str, Any]]:
        """A copy of every sandbox-mode request that passed validation, oldest first."""
        with self._lock:
            return list(self._sandboxed)

    def clear_accepted(self) -> None:
        """Forget the accepted messages."""
        with self._lock:
            self._accepted.clear()

    # The API ---------------------------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Answer one request as SendGrid would."""
        if request.path != SEND_PATH:
            return self._json(404, {"errors": [_SPEC_ERRORS[404]]})
        with self._lock:
            limited = self._rate_limited_left > 0
            if limited:
                self._rate_limited_left -= 1
        if limited:
            return self._rate_limited(reset_in=self._reset_in)
        if request.method != "POST":
            return self._json(405, {"errors": [_SPEC_ERRORS[405]]})
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return self._json(401, {"errors": [_SPEC_ERRORS[401]]})
        if len(request.body) > MAX_BODY_BYTES:
            return self._json(413, {"errors": [_SPEC_ERRORS[413]]})
        try:
            payload = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return self._json(400, {"errors": [sendgrid_error("Bad Request", None, None)]})
        if not isinstance(payload, dict):
            return self._json(400, {"errors": [sendgrid_error("Bad Request", None, None)]})
        errors = validate(payload)
        if errors:
            return self._json(400, {"errors": errors})
        if _sandbox_mode(payload):
            with self._lock:
                self._sandboxed.append(payload)
            return self._reply(200, b"")
        message_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        with self._lock:
            self._accepted.append(AcceptedMessage(message_id, payload, time.time()))
        return self._reply(202, b"", (("X-Message-Id", message_id),))

    # Helpers ---------------------------------------------------------------------------------

    def _rate_headers(self, reset_at: float | None = None) -> tuple[tuple[str, str], ...]:
        with self._lock:
            now = int(time.time())
            if now >= self._window_start + 60:
                self._window_start, self._window_used = now // 60 * 60, 0
            self._window_used += 1
            remaining = max(0, self.rate_limit - self._window_used)
            reset = int(reset_at) if reset_at is not None else self._window_start + 60
        return (
            ("X-RateLimit-Limit", str(self.rate_limit)),
            ("X-RateLimit-Remaining", str(0 if reset_at is not None else remaining)),
            ("X-RateLimit-Reset", str(reset)),
        )

    def _reply(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        return Reply(status, body, (*headers, *self._rate_headers()))

    def _json(self, status: int, payload: object) -> Reply:
        return self._reply(
            status, json.dumps(payload).encode(), (("Content-Type", "application/json"),)
        )

    def _rate_limited(self, reset_in: float) -> Reply:
        # Reset is whole Unix seconds; round up so the client never resumes early.
        reset_at = math.ceil(time.time() + reset_in)
        return Reply(
            429,
            json.dumps(_RATE_LIMIT_BODY).encode(),
            (("Content-Type", "application/json"), *self._rate_headers(reset_at)),
        )


def _sandbox_mode(payload: dict[str, Any]) -> bool:
    settings = payload.get("mail_settings")
    sandbox = settings.get("sandbox_mode") if isinstance(settings, dict) else None
    return isinstance(sandbox, dict) and sandbox.get("enable") is True


def _valid_email(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= 320 and bool(_EMAIL.match(value))


def _custom_args_too_large(value: Any) -> bool:
    return len(json.dumps(value, separators=(",", ":")).encode()) > MAX_CUSTOM_ARGS_BYTES


def validate(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """SendGrid's validation of a mail send body: the list of error objects (empty if valid)."""
    errors: list[dict[str, Any]] = []
    add = errors.append
    personalizations = payload.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        add(
            sendgrid_error(
                "The personalizations field is required and must have at least one "
                "personalization.",
                "personalizations",
                "-Personalizations-Errors",
            )
        )
        personalizations = []
    elif len(personalizations) > MAX_PERSONALIZATIONS:
        add(
            sendgrid_error(
                f"The personalizations field may not have more than {MAX_PERSONALIZATIONS} "
                "personalizations.",
                "personalizations",
                "-Personalizations-Errors",
            )
        )
    every_subject = bool(personalizations)
    for i, personalization in enumerate(personalizations):
        if not isinstance(personalization, dict):
            add(sendgrid_error("Invalid type. Expected: object.", f"personalizations.{i}", None))
            every_subject = False
            continue
        every_subject = every_subject and bool(personalization.get("subject"))
        recipients = personalization.get("to")
        if not isinstance(recipients, list) or not recipients:
            add(
                sendgrid_error(
                    "The to array is required for all personalization objects, and must have "
                    "at least one email object with a valid email address.",
                    f"personalizations.{i}.to",
                    "message.personalizations.to",
                )
            )
            recipients = []
        for kind in ("to", "cc", "bcc"):
            people = personalization.get(kind) or []
            if len(people) > MAX_RECIPIENTS:
                add(
                    sendgrid_error(
                        f"The {kind} array may not have more than {MAX_RECIPIENTS} recipients.",
                        f"personalizations.{i}.{kind}",
                        f"message.personalizations.{kind}",
                    )
                )
            for j, person in enumerate(people):
                if not isinstance(person, dict) or not _valid_email(person.get("email")):
                    add(
                        {
                            **_RECORDED_TO_ERROR,
                            "field": f"personalizations.{i}.{kind}.{j}.email",
                        }
                    )
        custom = personalization.get("custom_args")
        if custom is not None and _custom_args_too_large(custom):
            add(
                sendgrid_error(
                    f"The custom_args may not exceed {MAX_CUSTOM_ARGS_BYTES:,} bytes.",
                    f"personalizations.{i}.custom_args",
                    "message.custom_args",
                )
            )
    sender = payload.get("from")
    if not isinstance(sender, dict) or "email" not in sender:
        add(
            sendgrid_error(
                "The from object must be provided for every email send. It is an object that "
                "requires the email parameter, but may also contain a name parameter.  e.g. "
                '{"email" : "example@example.com"}  or {"email" : "example@example.com", '
                '"name" : "Example Recipient"}.',
                "from.email",
                "message.from",
            )
        )
    elif not _valid_email(sender.get("email")):
        add(dict(_RECORDED_FROM_ERROR))
    reply_to = payload.get("reply_to")
    if reply_to is not None and (
        not isinstance(reply_to, dict) or not _valid_email(reply_to.get("email"))
    ):
        add(
            sendgrid_error(
                "The reply_to email does not contain a valid address.",
                "reply_to.email",
                "message.reply_to",
            )
        )
    template_id = payload.get("template_id")
    content = payload.get("content")
    if not template_id:
        if not isinstance(content, list) or not content:
            add(
                sendgrid_error(
                    "Unless a valid template_id is provided, the content parameter is "
                    "required. There must be at least one defined content block. We typically "
                    "suggest both text/plain and text/html blocks are included, but only one "
                    "block is required.",
                    "content",
                    "message.content",
                )
            )
        if not payload.get("subject") and not every_subject:
            add(
                sendgrid_error(
                    "The subject is required. You can get around this requirement if you use "
                    "a template with a subject defined or if every personalization has a "
                    "subject defined.",
                    "subject",
                    "message.subject",
                )
            )
    for i, block in enumerate(content if isinstance(content, list) else []):
        block = block if isinstance(block, dict) else {}
        for part in ("type", "value"):
            value = block.get(part)
            if not isinstance(value, str) or not value:
                add(
                    sendgrid_error(
                        f"The content {part} must be a string at least one character in length.",
                        f"content.{i}.{part}",
                        f"message.content.{part}",
                    )
                )
    categories = payload.get("categories")
    if categories is not None:
        if not isinstance(categories, list) or len(categories) > MAX_CATEGORIES:
            add(
                sendgrid_error(
                    f"You may not have more than {MAX_CATEGORIES} categories per request.",
                    "categories",
                    "message.categories",
                )
            )
        else:
            if len(set(map(str, categories))) != len(categories):
                add(
                    sendgrid_error(
                        "The categories must be unique.", "categories", "message.categories"
                    )
                )
            for i, category in enumerate(categories):
                if not isinstance(category, str) or len(category) > MAX_CATEGORY_LENGTH:
                    add(
                        sendgrid_error(
                            f"A category cannot be more than {MAX_CATEGORY_LENGTH} characters.",
                            f"categories.{i}",
                            "message.categories",
                        )
                    )
    custom = payload.get("custom_args")
    if custom is not None:
        if not isinstance(custom, dict):
            add(
                sendgrid_error(
                    "The custom_args parameter must be an object.",
                    "custom_args",
                    "message.custom_args",
                )
            )
        elif _custom_args_too_large(custom):
            add(
                sendgrid_error(
                    f"The custom_args may not exceed {MAX_CUSTOM_ARGS_BYTES:,} bytes.",
                    "custom_args",
                    "message.custom_args",
                )
            )
        elif any(not isinstance(v, str) for v in custom.values()):
            add(
                sendgrid_error(
                    "Custom argument values must be strings.",
                    "custom_args",
                    "message.custom_args",
                )
            )
    tracking = payload.get("tracking_settings") or {}
    for name, setting in tracking.items() if isinstance(tracking, dict) else []:
        if isinstance(setting, dict) and not isinstance(setting.get("enable", False), bool):
            add(
                sendgrid_error(
                    "The enable parameter must be a boolean.",
                    f"tracking_settings.{name}.enable",
                    "message.tracking_settings",
                )
            )
    return errors


def main(argv: list[str] | None = None) -> None:  # pragma: no cover - used by bench/drain.py
    """Serve a fake in its own process: `python -m tests.fakes.sendgrid --latency 0.05`.

    Prints the base URL and API key as one JSON line, then serves until stdin closes or
    the process is terminated.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args(argv)
    fake = FakeSendGrid(api_key=args.api_key)
    fake.latency = args.latency
    fake.start()
    print(json.dumps({"url": fake.url, "api_key": fake.api_key}), flush=True)
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    finally:
        print(json.dumps({"requests": fake.request_count, "accepted": len(fake.accepted)}))
        fake.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
