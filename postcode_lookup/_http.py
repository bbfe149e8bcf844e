"""The HTTP plumbing both clients share: timeouts, retries, the breaker and JSON decoding."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import requests

from .errors import LookupUnavailable
from .resilience import CircuitBreaker, RetryPolicy

logger = logging.getLogger(__name__)

JsonParams = Mapping[str, str | int]

DEFAULT_CONNECT_TIMEOUT: Final = 2.0
DEFAULT_READ_TIMEOUT: Final = 4.0


@dataclass(frozen=True)
class UpstreamResponse:
    """A non-5xx answer: its status and its decoded JSON body (None when the body is empty)."""

    status: int
    body: object


class JsonTransport:
    """Send requests with connect/read timeouts, retrying transient failures behind a breaker."""

    def __init__(
        self,
        session: requests.Session,
        base_url: str,
        *,
        service: str,
        connect_timeout: float,
        read_timeout: float,
        retry: RetryPolicy | None,
        breaker: CircuitBreaker | None,
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.timeout = (connect_timeout, read_timeout)
        self.retry = retry if retry is not None else RetryPolicy()
        self.breaker = breaker if breaker is not None else CircuitBreaker(name=service)

    def get(self, path: str, *, label: str, params: JsonParams | None = None) -> UpstreamResponse:
        """GET path (already URL-quoted) and return the decoded answer."""
        return self.request("GET", path, label=label, params=params)

    def post(self, path: str, payload: object, *, label: str) -> UpstreamResponse:
        """POST a JSON payload to path and return the decoded answer."""
        return self.request("POST", path, label=label, payload=payload)

    def request(
        self,
        method: str,
        path: str,
        *,
        label: str,
        params: JsonParams | None = None,
        payload: object = None,
    ) -> UpstreamResponse:
        """Send one logical request: the breaker wraps the retries, so N failed calls open it."""

        def attempt() -> UpstreamResponse:
            return self._attempt(method, path, params, payload)

        return self.breaker.call(lambda: self.retry.call(attempt, label=f"{self.service} {label}"))

    def _attempt(
        self, method: str, path: str, params: JsonParams | None, payload: object
    ) -> UpstreamResponse:
        # Exceptions are re-raised "from None": requests puts the full URL, and so the postcode,
        # into its messages, and the app logs tracebacks of unexpected errors.
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                params=params,
                json=payload,
                headers={"Accept": "application/json"},
                timeout=self.timeout,
            )
        except requests.Timeout as exc:
            raise LookupUnavailable(self.service, f"timeout ({type(exc).__name__})") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise LookupUnavailable(
                self.service, f"connection failed ({type(exc).__name__})"
            ) from None
        except requests.RequestException as exc:
            raise LookupUnavailable(
                self.service, f"request failed ({type(exc).__name__})", retryable=False
            ) from None

        with response:
            status = response.status_code
            if status >= 500:
                raise LookupUnavailable(self.service, f"HTTP {status}")
            if not response.content:
                return UpstreamResponse(status, None)
            try:
                body: object = response.json()
            except ValueError:
                if status >= 400:
                    # Error bodies are not part of either contract; the status says enough.
                    return UpstreamResponse(status, None)
                # A success that is not JSON is a broken upstream (a captive portal, a proxy's
                # HTML page); retrying at once will not fix it, but it counts against the breaker.
                raise LookupUnavailable(
                    self.service, f"HTTP {status} with a body that is not JSON", retryable=False
                ) from None
        return UpstreamResponse(status, body)


def as_object(value: object) -> dict[str, object] | None:
    """The value if it is a JSON object, else None."""
    return value if isinstance(value, dict) else None


def as_list(value: object) -> list[object]:
    """The value if it is a JSON array, else an empty list."""
    return value if isinstance(value, list) else []


def get_object(obj: Mapping[str, object], key: str) -> dict[str, object] | None:
    """obj[key] if it is a JSON object; absent and null are the same."""
    return as_object(obj.get(key))


def get_str(obj: Mapping[str, object], key: str) -> str | None:
    """obj[key] if it is a non-blank string, stripped; absent, null and "" are the same."""
    value = obj.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def get_int(obj: Mapping[str, object], key: str) -> int | None:
    """obj[key] if it is an integer (not a bool)."""
    value = obj.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def get_bool(obj: Mapping[str, object], key: str) -> bool | None:
    """obj[key] if it is a boolean."""
    value = obj.get(key)
    return value if isinstance(value, bool) else None


def get_float(obj: Mapping[str, object], key: str) -> float | None:
    """obj[key] if it is a number."""
    value = obj.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def unexpected(service: str, what: str, status: int | None = None) -> LookupUnavailable:
    """The error for an answer whose shape the client does not understand."""
    detail = f"unexpected answer: {what}" if status is None else f"HTTP {status}: {what}"
    return LookupUnavailable(service, detail, retryable=False)
