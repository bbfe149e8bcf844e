"""Configuration: the only module that reads environment variables."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limits import parse_many

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


class ConfigurationError(RuntimeError):
    """Raised when the environment does not describe a runnable app."""


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from exc


def _rate_limit(env: dict[str, str], name: str, default: str) -> str:
    value = env.get(name, "") or default
    try:
        parse_many(value)
    except ValueError as exc:
        raise ConfigurationError(
            f"{name} must look like '10 per hour' or '10 per hour;30 per day', not {value!r}"
        ) from exc
    return value


SIMILARITY_HOLD_RULES = ("same_mp", "campaign", "off")


def _similarity(env: dict[str, str]) -> dict[str, Any]:
    """SIMILARITY_THRESHOLD (a Dice score above 0, at most 1) and SIMILARITY_HOLD (the rule)."""
    raw = env.get("SIMILARITY_THRESHOLD", "") or "0.5"
    try:
        threshold = float(raw)
    except ValueError:
        threshold = -1.0
    if not 0 < threshold <= 1:
        raise ConfigurationError(
            f"SIMILARITY_THRESHOLD must be a number above 0 and at most 1, not {raw!r}"
        )
    hold = env.get("SIMILARITY_HOLD", "") or "same_mp"
    if hold not in SIMILARITY_HOLD_RULES:
        raise ConfigurationError(
            f"SIMILARITY_HOLD must be one of {', '.join(SIMILARITY_HOLD_RULES)}, not {hold!r}"
        )
    return {"similarity_threshold": threshold, "similarity_hold": hold}


def _retention(env: dict[str, str]) -> dict[str, int]:
    """How long personal data is kept; the policy every public page states is built from it."""
    body = _int(env, "LETTER_BODY_RETENTION_DAYS", 28)
    personal = _int(env, "PERSONAL_DATA_RETENTION_DAYS", 365)
    unconfirmed = _int(env, "UNCONFIRMED_RETENTION_HOURS", 0)
    if body < 0 or unconfirmed < 0:
        raise ConfigurationError(
            "LETTER_BODY_RETENTION_DAYS and UNCONFIRMED_RETENTION_HOURS cannot be negative"
        )
    if personal < 1 or personal < body:
        raise ConfigurationError(
            "PERSONAL_DATA_RETENTION_DAYS must be at least 1 and at least "
            f"LETTER_BODY_RETENTION_DAYS ({body}), not {personal}"
        )
    return {
        "letter_body_retention_days": body,
        "personal_data_retention_days": personal,
        "unconfirmed_retention_hours": unconfirmed,
    }


def _base_url(env: dict[str, str], production: bool) -> str:
    """BASE_URL; in development, when unset, the address `make run` serves (HOST and PORT)."""
    explicit = env.get("BASE_URL", "")
    if explicit or production:
        return (explicit or "http://127.0.0.1:5000").rstrip("/")
    host = env.get("HOST", "") or "127.0.0.1"
    # A server bound to every interface is still reached, from this machine, on loopback.
    if host in {"0.0.0.0", "::"}:  # noqa: S104 (a comparison, not a bind)
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{_int(env, 'PORT', 5000)}"


def _secret_key(env: dict[str, str], instance_path: Path, production: bool) -> str:
    """Return SECRET_KEY, generating a development key under instance/ when unset."""
    key = env.get("SECRET_KEY", "")
    if key:
        return key
    if production:
        raise ConfigurationError("SECRET_KEY must be set when ADVOCACY_ENV=production")
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Created with owner-only permissions: the key signs confirmation links.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment, with defaults."""

    environment: str
    instance_path: Path
    database_url: str
    secret_key: str
    base_url: str
    postcodes_io_url: str
    members_api_url: str
    mail_backend: str
    sendgrid_api_key: str
    sendgrid_api_host: str
    sendgrid_webhook_public_key: str
    mail_from: str
    mail_from_name: str
    lookup_connect_timeout: float
    lookup_read_timeout: float
    postcode_cache_days: int
    directory_cache_seconds: float
    worker_concurrency: int
    worker_batch_size: int
    worker_lease_seconds: int
    worker_poll_seconds: float
    mp_hourly_cap: int
    sending_window: str
    count_cache_seconds: float
    campaign_cache_seconds: float
    rate_limit_storage_url: str
    rate_limit_send: str
    rate_limit_lookup: str
    rate_limit_privacy: str
    similarity_threshold: float = 0.5
    similarity_hold: str = "same_mp"
    letter_body_retention_days: int = 28
    personal_data_retention_days: int = 365
    unconfirmed_retention_hours: int = 0
    login_rate_limit_account: str = "5 per 15 minutes"
    login_rate_limit_address: str = "20 per 15 minutes"
    health_cache_seconds: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        """True when running as a production deployment."""
        return self.environment == "production"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Build settings from environment variables (os.environ by default)."""
        env = dict(os.environ if env is None else env)
        environment = env.get("ADVOCACY_ENV", "development")
        production = environment == "production"
        instance_path = Path(env.get("INSTANCE_PATH", "") or DEFAULT_INSTANCE_PATH)
        database_url = env.get("DATABASE_URL", "") or f"sqlite:///{instance_path / 'advocacy.db'}"
        sendgrid_key = env.get("SENDGRID_API_KEY", "")
        mail_backend = env.get("MAIL_BACKEND", "") or ("sendgrid" if sendgrid_key else "outbox")
        if mail_backend not in {"sendgrid", "outbox"}:
            raise ConfigurationError("MAIL_BACKEND must be 'sendgrid' or 'outbox'")
        if mail_backend == "sendgrid" and not sendgrid_key:
            raise ConfigurationError("MAIL_BACKEND=sendgrid needs SENDGRID_API_KEY")
        values: dict[str, Any] = {
            "environment": environment,
            "instance_path": instance_path,
            "database_url": database_url,
            "secret_key": overrides.pop("secret_key", None)
            or _secret_key(env, instance_path, production),
            "base_url": _base_url(env, production),
            "postcodes_io_url": (env.get("POSTCODES_IO_URL", "") or "https://api.postcodes.io"),
            "members_api_url": (
                env.get("MEMBERS_API_URL", "") or "https://members-api.parliament.uk"
            ),
            "mail_backend": mail_backend,
            "sendgrid_api_key": sendgrid_key,
            "sendgrid_api_host": env.get("SENDGRID_API_HOST", "") or "https://api.sendgrid.com",
            "sendgrid_webhook_public_key": env.get("SENDGRID_WEBHOOK_PUBLIC_KEY", ""),
            "mail_from": env.get("MAIL_FROM", "") or "letters@localhost",
            "mail_from_name": env.get("MAIL_FROM_NAME", "") or "Advocacy Engine",
            "lookup_connect_timeout": float(env.get("LOOKUP_CONNECT_TIMEOUT", "") or 3.05),
            "lookup_read_timeout": float(env.get("LOOKUP_READ_TIMEOUT", "") or 5.0),
            "postcode_cache_days": _int(env, "POSTCODE_CACHE_DAYS", 90),
            "directory_cache_seconds": float(env.get("DIRECTORY_CACHE_SECONDS", "") or 60.0),
            "worker_concurrency": _int(env, "WORKER_CONCURRENCY", 16),
            "worker_batch_size": _int(env, "WORKER_BATCH_SIZE", 50),
            "worker_lease_seconds": _int(env, "WORKER_LEASE_SECONDS", 120),
            "worker_poll_seconds": float(env.get("WORKER_POLL_SECONDS", "") or 2.0),
            "mp_hourly_cap": _int(env, "MP_HOURLY_CAP", 0),
            "sending_window": env.get("SENDING_WINDOW", ""),
            "count_cache_seconds": float(env.get("COUNT_CACHE_SECONDS", "") or 5.0),
            "campaign_cache_seconds": float(env.get("CAMPAIGN_CACHE_SECONDS", "") or 10.0),
            "rate_limit_storage_url": env.get("RATE_LIMIT_STORAGE_URL", "") or "memory://",
            "rate_limit_send": _rate_limit(env, "RATE_LIMIT_SEND", "10 per hour;30 per day"),
            "rate_limit_lookup": _rate_limit(env, "RATE_LIMIT_LOOKUP", "30 per minute"),
            "rate_limit_privacy": _rate_limit(env, "RATE_LIMIT_PRIVACY", "5 per hour;20 per day"),
            "login_rate_limit_account": _rate_limit(
                env, "LOGIN_RATE_LIMIT_ACCOUNT", "5 per 15 minutes"
            ),
            "login_rate_limit_address": _rate_limit(
                env, "LOGIN_RATE_LIMIT_ADDRESS", "20 per 15 minutes"
            ),
            **_similarity(env),
            "health_cache_seconds": float(env.get("HEALTH_CACHE_SECONDS", "") or 5.0),
            **_retention(env),
        }
        values.update(overrides)
        return cls(**values)
