"""Faults on real servers behind and beside the gateway.

An upstream process killed: 502 at once, and normal service once it is back on its port (both
backends: the upstream is a real process either way). On the real backend: Redis drops the
gateway's connections or goes away (the rate limit fails open), and PostgreSQL ends the request
log's connections (nothing committed is lost, a request caught in flight is a 503).
docs/gateway.md, "Faults".
"""

import asyncio
import logging
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, eventually, lifespan_client
from fastapi_testkit.faults import (
    kill_redis_clients,
    sessions_waiting_for_a_lock,
    table_locked,
    tcp_proxy,
    terminate_postgres,
)
from fastapi_testkit.process import free_port, served_module
from fastapi_testkit.routing import RoutingTransport
from gateway.app import create_app
from gateway.settings import Settings

REAL_SERVERS = "kills connections on the real Redis and PostgreSQL servers"

UPSTREAM = """
import os
import uvicorn
from fastapi import FastAPI

app = FastAPI()

@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}

@app.get("/api/hello")
async def hello() -> dict[str, int]:
    return {"pid": os.getpid()}

uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]), log_level="warning")
"""


@pytest.fixture
def app(settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]) -> FastAPI:
    """The gateway with a limit of 5 requests a window (a day: a test's requests never straddle two)."""
    limited = settings.model_copy(update={"rate_limit": 5})
    return create_app(limited, transport=RoutingTransport(upstreams))


@pytest.mark.proxy
async def test_a_killed_upstream_is_a_502_at_once_and_served_again_once_back(
    settings: Settings, tmp_path: Path
) -> None:
    (tmp_path / "upstream_app.py").write_text(UPSTREAM)
    port = free_port()
    real = settings.model_copy(update={"articles_url": f"http://127.0.0.1:{port}", "rate_limit": 1000})
    async with lifespan_client(create_app(real)) as client:  # no transport: real sockets
        with served_module("upstream_app", tmp_path, port=port) as upstream:
            first = await client.get("/articles/api/hello")
            assert first.status_code == 200, first.text
            upstream.process.kill()
            upstream.process.wait()

            started = time.perf_counter()
            down = await client.get("/articles/api/hello")
            elapsed = time.perf_counter() - started

        assert down.status_code == 502, down.text
        assert down.json()["service"] == "articles"
        # At once: a refused connection, not a wait for the 2 s connect or 5 s read timeout.
        assert elapsed < 1, f"the 502 took {elapsed:.2f} s"

        with served_module("upstream_app", tmp_path, port=port) as upstream:
            back = await client.get("/articles/api/hello")
            assert back.status_code == 200, back.text
            assert back.json() == {"pid": upstream.process.pid}


@pytest.mark.ratelimit
@pytest.mark.real_only(reason=REAL_SERVERS)
async def test_the_rate_limit_still_counts_after_redis_dropped_the_connections(
    client: LifespanClient, redis_url: str
) -> None:
    assert [(await client.get("/articles/x")).status_code for _ in range(4)] == [200] * 4

    assert await kill_redis_clients(redis_url, "gateway") >= 1

    fifth = await client.get("/articles/x")
    assert fifth.status_code == 200, fifth.text
    over = await client.get("/articles/x")
    assert over.status_code == 429, over.text  # the count survived: it lives in Redis


@pytest.mark.ratelimit
@pytest.mark.real_only(reason=REAL_SERVERS)
async def test_without_redis_the_rate_limit_fails_open(
    settings: Settings,
    upstreams: dict[str, httpx.AsyncBaseTransport],
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with tcp_proxy(redis_url) as proxy:
        limited = settings.model_copy(update={"redis_url": proxy.url(redis_url), "rate_limit": 2})
        async with lifespan_client(create_app(limited, transport=RoutingTransport(upstreams))) as client:
            proxy.cut()
            with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
                answers = [(await client.get("/articles/x")).status_code for _ in range(4)]
            assert answers == [200, 200, 200, 200]  # over the limit of 2, let through
            assert "rate limit unavailable" in caplog.text

            proxy.restore()
            answers = [(await client.get("/articles/x")).status_code for _ in range(3)]
            assert answers == [200, 200, 429]  # counting again


@pytest.mark.db
@pytest.mark.real_only(reason=REAL_SERVERS)
async def test_the_request_log_loses_nothing_committed_when_postgres_ends_the_connections(
    client: LifespanClient, database_url: str
) -> None:
    await client.get("/articles/x")
    await client.get("/events/x")
    await client.state["request_log"].flush()

    assert await terminate_postgres(database_url) >= 1

    await client.get("/articles/y")
    await client.state["request_log"].flush()
    stats = await client.get("/api/stats")
    assert stats.status_code == 200, stats.text
    assert {service: row["count"] for service, row in stats.json().items()} == {"articles": 2, "events": 1}


@pytest.mark.db
@pytest.mark.real_only(reason=REAL_SERVERS)
async def test_a_request_in_flight_when_postgres_ends_its_connection_is_a_503(
    client: LifespanClient, database_url: str
) -> None:
    async with table_locked(database_url, "proxied_requests") as holder:
        in_flight = asyncio.create_task(client.get("/api/stats"))

        async def waiting() -> bool:
            return await sessions_waiting_for_a_lock(database_url) == 1

        await eventually(waiting)
        await terminate_postgres(database_url, spare=[holder])
    response = await in_flight

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "The database is unavailable; try again"}
    assert (await client.get("/api/stats")).status_code == 200
