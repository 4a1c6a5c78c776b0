"""fastapi_testkit.probes: what a raw socket sees, and the battery failing on a server without limits."""

import asyncio

import pytest
from fastapi import FastAPI

from fastapi_testkit import live_server
from fastapi_testkit.probes import assert_connection_limits, probe


def health_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


async def test_a_probe_reads_the_answer_until_the_server_closes() -> None:
    async with live_server(health_app()) as server:
        reply = await asyncio.to_thread(
            probe, server.url, b"GET /health HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n"
        )

    assert (reply.status, reply.closed) == (200, True)
    assert reply.data.endswith(b'{"status":"ok"}')


async def test_a_probe_gives_up_on_a_connection_left_open() -> None:
    async with live_server(health_app(), timeout_keep_alive=30) as server:
        reply = await asyncio.to_thread(probe, server.url, b"GET /health HTTP/1.1\r\nHost: probe\r\n\r\n", patience=0.5)

    assert (reply.status, reply.closed) == (200, False)  # answered, and kept alive
    assert reply.seconds >= 0.5


@pytest.mark.slow
async def test_the_battery_fails_on_stock_uvicorn_naming_the_first_abuse_it_let_through() -> None:
    """uvicorn on its own serves a 9,000-character target (a 404 here): the services' serving.py is why they pass."""
    async with live_server(health_app()) as server:
        with pytest.raises(AssertionError, match="target over 8 KiB"):
            await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
