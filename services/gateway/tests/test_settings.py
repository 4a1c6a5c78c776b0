"""Every documented GATEWAY_* variable is read, and each reaches what it configures."""

import re
from pathlib import Path

import pytest

from fastapi_testkit import lifespan_client
from gateway.app import create_app
from gateway.serving import ServingSettings
from gateway.settings import Settings

README = Path(__file__).parents[1] / "README.md"

# A value for every variable, none of them the default.
ENVIRONMENT = {
    "GATEWAY_ARTICLES_URL": "http://a.test",
    "GATEWAY_CHAT_URL": "http://c.test",
    "GATEWAY_EVENTS_URL": "http://e.test",
    "GATEWAY_PROCESSING_URL": "http://p.test",
    "GATEWAY_REDIS_MAX_CONNECTIONS": "19",
    "GATEWAY_REDIS_POOL_TIMEOUT": "0.25",
    "GATEWAY_MAX_CONNECTIONS": "7",
    "GATEWAY_MAX_KEEPALIVE_CONNECTIONS": "3",
    "GATEWAY_CONNECT_TIMEOUT": "1.5",
    "GATEWAY_READ_TIMEOUT": "4.5",
    "GATEWAY_MAX_STREAMS": "9",
    "GATEWAY_MAX_STREAMS_PER_CLIENT": "2",
    "GATEWAY_STREAM_READ_TIMEOUT": "600",
    "GATEWAY_STREAM_ROUTES": "chat:/ws/*, events:/live",
    "GATEWAY_RATE_LIMIT": "11",
    "GATEWAY_RATE_LIMIT_WINDOW": "13",
    "GATEWAY_API_KEYS": "k1,k2",
    "GATEWAY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1",
    "GATEWAY_MAX_BODY_BYTES": "2048",
    "GATEWAY_LOG_QUEUE_SIZE": "17",
    "GATEWAY_LOG_BATCH_SIZE": "5",
}


def test_every_documented_variable_is_in_this_test_and_every_setting_is_documented() -> None:
    # The serving limits (serving.py) are the same in every service: the root README lists them.
    serving = {f"GATEWAY_{name.upper()}" for name in ServingSettings.model_fields}
    documented = set(re.findall(r"`(GATEWAY_[A-Z_]+)`", README.read_text())) - serving
    fields = {f"GATEWAY_{name.upper()}" for name in Settings.model_fields}

    assert documented - {"GATEWAY_DATABASE_URL", "GATEWAY_REDIS_URL"} == set(ENVIRONMENT)
    assert fields == documented


async def test_each_variable_is_honoured(
    monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str | None
) -> None:
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("GATEWAY_DATABASE_URL", database_url)
    if redis_url is not None:
        monkeypatch.setenv("GATEWAY_REDIS_URL", redis_url)

    async with lifespan_client(create_app()) as client:
        state = client.state
        settings: Settings = state["settings"]
        plain, streams = state["http_client"], state["stream_client"]
        pool = plain._transport._pool
        stream_pool = streams._transport._pool

        assert settings.upstreams() == {
            "articles": "http://a.test",
            "chat": "http://c.test",
            "events": "http://e.test",
            "processing": "http://p.test",
        }
        assert (pool._max_connections, pool._max_keepalive_connections) == (7, 3)
        assert (plain.timeout.connect, plain.timeout.read) == (1.5, 4.5)
        assert (stream_pool._max_connections, streams.timeout.read) == (9, 600)
        assert (state["stream_slots"].total, state["stream_slots"].per_client) == (9, 2)
        assert settings.stream_routes == ("chat:/ws/*", "events:/live")
        assert (state["rate_limiter"].limit, state["rate_limiter"].window) == (11, 13)
        redis_pool = state["redis"].connection_pool
        assert (redis_pool.max_connections, redis_pool.timeout) == (19, 0.25)
        assert settings.api_keys == ("k1", "k2")
        assert [str(n) for n in state["trusted_networks"]] == ["10.0.0.0/8", "192.168.1.1/32"]
        assert (state["request_log"].queue.maxsize, state["request_log"].batch_size) == (17, 5)
        assert str(state["sessionmaker"].kw["bind"].url) == database_url
        reply = await client.post("/articles/x", content=b"x" * 2049)
        assert reply.status_code == 413, reply.text
        assert reply.json() == {"detail": "Request body over 2048 bytes"}


def test_stream_read_timeout_defaults_to_none() -> None:
    """On the defaults a quiet stream is never cut (test_streaming scales the rest down)."""
    assert Settings().stream_read_timeout is None
