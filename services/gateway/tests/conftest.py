"""Fixtures for the gateway suite.

The upstreams here are fakes: small ASGI apps reached through the kit's `RoutingTransport`, which the
gateway's HTTP client gets in place of the network (`create_app(..., transport=...)`). The real
services behind the gateway are tested together in the repository's tests/test_integration.py.
"""

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws.transport import ASGIWebSocketTransport

from fastapi_testkit.routing import RoutingTransport
from gateway.app import create_app
from gateway.settings import Settings

from .helpers import LONG_WINDOW, fake_upstream

ARTICLES, CHAT, EVENTS, PROCESSING = (
    "http://articles.test",
    "http://chat.test",
    "http://events.test",
    "http://processing.test",
)


@pytest.fixture
def upstreams() -> dict[str, httpx.AsyncBaseTransport]:
    """host -> transport. Tests replace an entry to make that upstream fail."""
    return {
        "articles.test": httpx.ASGITransport(app=fake_upstream("articles")),
        # httpx-ws's transport: plain HTTP as ASGITransport does, and WebSocket handshakes too.
        "chat.test": ASGIWebSocketTransport(app=fake_upstream("chat")),
        "events.test": httpx.ASGITransport(app=fake_upstream("events")),
        "processing.test": httpx.ASGITransport(app=fake_upstream("processing")),
    }


@pytest.fixture
def settings(database_url: str, redis_url: str | None) -> Settings:
    # Every field set explicitly, so GATEWAY_* variables in the shell cannot leak into tests.
    return Settings(
        articles_url=ARTICLES,
        chat_url=CHAT,
        events_url=EVENTS,
        processing_url=PROCESSING,
        database_url=database_url,
        redis_url=redis_url,
        redis_max_connections=100,
        redis_pool_timeout=0.5,
        max_connections=10,
        max_keepalive_connections=5,
        connect_timeout=1.0,
        read_timeout=5.0,
        rate_limit=1000,
        rate_limit_window=LONG_WINDOW,
        max_body_bytes=1024,
        max_streams=10,
        max_streams_per_client=5,
        stream_read_timeout=None,
        stream_routes=("events:/api/topics/*/stream",),
        api_keys=("alice", "bob"),
        trusted_proxies=(),
        log_queue_size=1000,
        log_batch_size=100,
    )


@pytest.fixture
def app(settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]) -> FastAPI:
    return create_app(settings, transport=RoutingTransport(upstreams))
