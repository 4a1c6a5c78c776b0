"""live_server: the app under uvicorn on a free port, stopped cleanly."""

import socket

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LiveServer, live_server

from .conftest import failing_app


async def test_serves_the_app_with_its_lifespan(app: FastAPI, events: list[str]) -> None:
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/greet")

    assert response.json() == {"message": "hello, world"}
    assert events == ["startup", "shutdown"]


async def test_the_lifespan_state_reaches_the_test(live_server: LiveServer) -> None:
    assert live_server.state == {"greeting": "hello"}


async def test_listens_on_loopback_on_a_free_port(live_server: LiveServer) -> None:
    assert live_server.host == "127.0.0.1"
    assert live_server.port > 0
    assert live_server.url == f"http://127.0.0.1:{live_server.port}"
    assert live_server.ws_url == f"ws://127.0.0.1:{live_server.port}"


async def test_the_port_is_closed_after_exit(app: FastAPI) -> None:
    async with live_server(app) as server:
        port = server.port

    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass  # pragma: no cover


async def test_a_failing_startup_is_reported() -> None:
    with pytest.raises(RuntimeError, match="uvicorn stopped during startup"):
        async with live_server(failing_app()):
            pass  # pragma: no cover


async def test_other_keywords_configure_uvicorn(app: FastAPI) -> None:
    """A service's `__main__` limits (here the largest WebSocket message) apply to the live server too."""
    async with live_server(app, ws_max_size=4096, timeout_keep_alive=2) as server:
        assert (server.server.config.ws_max_size, server.server.config.timeout_keep_alive) == (4096, 2)
        assert server.server.config.host == "127.0.0.1"  # the kit's own choices stay
