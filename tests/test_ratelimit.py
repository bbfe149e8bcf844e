"""Per-address rate limits: counted per endpoint, answered with Retry-After, fail open."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask

from advocacy.config import ConfigurationError, Settings
from advocacy.ratelimit import RateLimiter, parse_limits


def _app(storage_url: str = "memory://") -> Flask:
    """An app with two limited endpoints; app.config["LIMITS"]["value"] sets the first's."""
    app = Flask(__name__)
    limiter = RateLimiter()
    limiter.init_app(app, storage_url)
    limits = {"value": "2 per hour"}

    @app.get("/limited")
    @limiter.limit(lambda: limits["value"])
    def limited() -> str:
        return "ok"

    @app.get("/other")
    @limiter.limit(lambda: "1 per hour")
    def other() -> str:
        return "ok"

    app.config["LIMITS"] = limits
    return app


def test_limit_answers_429_with_retry_after_once_spent() -> None:
    app = _app()
    client = app.test_client()
    assert [client.get("/limited").status_code for _ in range(3)] == [200, 200, 429]
    refused = client.get("/limited")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 3600


def test_limits_are_counted_per_endpoint_and_per_address() -> None:
    app = _app()
    client = app.test_client()
    assert client.get("/other").status_code == 200
    assert client.get("/other").status_code == 429
    assert client.get("/limited").status_code == 200
    elsewhere = {"REMOTE_ADDR": "192.0.2.7"}
    assert client.get("/other", environ_base=elsewhere).status_code == 200


def test_the_limit_is_read_per_request() -> None:
    app = _app()
    client = app.test_client()
    assert client.get("/limited").status_code == 200  # under "2 per hour"
    app.config["LIMITS"]["value"] = "1 per minute;5 per day"
    # A limiter that kept the first limit it read would allow one more here.
    assert [client.get("/limited").status_code for _ in range(2)] == [200, 429]


def test_parse_limits_puts_the_shortest_window_first_and_refuses_nonsense() -> None:
    first, second = parse_limits("30 per day;10 per hour")
    assert (first.amount, second.amount) == (10, 30)
    with pytest.raises(ValueError, match="couldn't parse"):
        parse_limits("ten a day")


def test_an_unreachable_store_lets_requests_through_and_logs_no_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pytest.importorskip("redis")
    # Nothing listens on port 9 of loopback (discard is not run here).
    app = _app("redis://127.0.0.1:9/0?socket_connect_timeout=0.2")
    caplog.set_level(logging.WARNING, logger="advocacy.ratelimit")
    response = app.test_client().get("/limited", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    assert response.status_code == 200
    assert "rate limit storage unavailable" in caplog.text
    assert "198.51.100.4" not in caplog.text


def test_an_unknown_storage_url_is_a_clear_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RATE_LIMIT_STORAGE_URL"):
        RateLimiter().init_app(Flask(__name__), f"nosuch://{tmp_path}")


@pytest.mark.parametrize("name", ["RATE_LIMIT_SEND", "RATE_LIMIT_LOOKUP"])
def test_a_malformed_limit_setting_stops_start_up_with_a_clear_message(
    name: str, tmp_path: Path
) -> None:
    env = {"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "k", name: "ten a day"}
    with pytest.raises(ConfigurationError, match=f"{name} must look like '10 per hour'"):
        Settings.from_env(env)
