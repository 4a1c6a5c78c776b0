"""Fixtures for the gateway suite.

The upstreams here are fakes: small ASGI apps reached through the kit's `RoutingTransport`, which the
gateway's HTTP client gets in place of the network (`create_app(..., transport=...)`). The real
services behind the gateway are tested together in the repository's tests/test_integration.py.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from fastapi_testkit.routing import RoutingTransport
from gateway.app import create_app
from gateway.settings import Settings

ARTICLES, EVENTS, PROCESSING = "http://articles.test", "http://events.test", "http://processing.test"


def fake_upstream(name: str) -> FastAPI:
    """An upstream that answers /health and echoes every other request back as JSON."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/articles/")
    async def articles() -> list[dict[str, Any]]:
        return [{"id": 1, "title": "Latest"}]

    @app.get("/api/stats")
    async def stats() -> dict[str, int]:
        return {"pending": 1, "processing": 0, "processed": 2, "failed": 0}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> Response:
        body = await request.body()
        status = int(request.query_params.get("status", 200))
        echoed = {
            "upstream": name,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(),
        }
        headers = {"x-upstream": name} | ({"www-authenticate": "Bearer"} if status == 401 else {})
        return JSONResponse(echoed, status_code=status, headers=headers)

    return app


@pytest.fixture
def upstreams() -> dict[str, httpx.AsyncBaseTransport]:
    """host -> transport. Tests replace an entry to make that upstream fail."""
    return {
        "articles.test": httpx.ASGITransport(app=fake_upstream("articles")),
        "events.test": httpx.ASGITransport(app=fake_upstream("events")),
        "processing.test": httpx.ASGITransport(app=fake_upstream("processing")),
    }


@pytest.fixture
def settings(database_url: str, redis_url: str | None) -> Settings:
    # Every field set explicitly, so GATEWAY_* variables in the shell cannot leak into tests.
    return Settings(
        articles_url=ARTICLES,
        events_url=EVENTS,
        processing_url=PROCESSING,
        database_url=database_url,
        redis_url=redis_url,
        max_connections=10,
        max_keepalive_connections=5,
        connect_timeout=1.0,
        read_timeout=5.0,
        rate_limit=1000,
        rate_limit_window=60,
        max_body_bytes=1024,
    )


@pytest.fixture
def app(settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]) -> FastAPI:
    return create_app(settings, transport=RoutingTransport(upstreams))


def failing(error: Exception) -> httpx.MockTransport:
    """A transport whose every request fails with `error` (a refused connection, a timeout)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


async def chunks(items: list[bytes]) -> AsyncIterator[bytes]:
    """A request body sent in chunks, with no Content-Length."""
    for item in items:
        yield item
