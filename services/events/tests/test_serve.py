"""`python -m events` (what `hatch run events:serve` runs): the real process, a real client."""

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from events.__main__ import main
from events.serving import ServingSettings
from fastapi_testkit import live_server
from fastapi_testkit.probes import assert_connection_limits
from fastapi_testkit.process import ServedProcess, served_module, uvicorn_arguments
from fastapi_testkit.sse import sse_stream
from service_runtime.serving import (
    GRACEFUL_SHUTDOWN_SECONDS,
    DenyingWebSocketProtocol,
    GuardedHttpToolsProtocol,
    guarded,
)

pytestmark = [pytest.mark.slow, pytest.mark.sse]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedProcess]:
    """The service on its embedded defaults (fakeredis), its port from PORT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
    with served_module("events", tmp_path, env=env, shutdown_timeout=GRACEFUL_SHUTDOWN_SECONDS + 10) as server:
        yield server
    # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
    assert server.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in server.log  # the lifespan closed its Redis client


async def test_the_served_app_streams_to_a_real_client(served: ServedProcess) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        async with sse_stream(http, "/api/topics/news/stream") as stream:
            published = await http.post("/api/topics/news/events", json={"event": "headline", "data": "hello"})
            event = await stream.next_event()
        demo = await http.get("/api/events/news")

    assert published.status_code == 201, published.text
    assert (event.id, event.event, event.data) == (published.json()["id"], "headline", '"hello"')
    assert demo.text.count("data: Event") == 5


async def test_an_open_stream_does_not_keep_the_server_from_stopping(served: ServedProcess) -> None:
    """uvicorn waits for open responses before it stops, and a stream never ends by itself."""
    async with (
        httpx.AsyncClient(base_url=served.url, timeout=5) as http,
        sse_stream(http, "/api/topics/news/stream", timeout=GRACEFUL_SHUTDOWN_SECONDS + 10) as stream,
    ):
        served.process.terminate()
        stopping = time.monotonic()
        # After its grace period uvicorn cancels the stream and drops the connection; a
        # browser's EventSource then reconnects, with Last-Event-ID, wherever it is sent.
        with pytest.raises(httpx.RemoteProtocolError):
            await stream.next_event()
        served.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)

    assert time.monotonic() - stopping < GRACEFUL_SHUTDOWN_SECONDS + 5


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")

    served = uvicorn_arguments(main, [], monkeypatch)

    assert served["port"] == 9001
    assert served["factory"] is True  # a fresh app from create_app(), reading its settings
    assert served["timeout_graceful_shutdown"] == GRACEFUL_SHUTDOWN_SECONDS
    assert uvicorn_arguments(main, ["--port", "9002"], monkeypatch)["port"] == 9002


def test_it_serves_on_the_deployed_stack_with_its_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENTS_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["ws"], served["access_log"]) == ("uvloop", DenyingWebSocketProtocol, False)
    assert issubclass(served["http"], GuardedHttpToolsProtocol)  # httptools, with deadlines and caps

    monkeypatch.setenv("EVENTS_ACCESS_LOG", "true")
    monkeypatch.setenv("EVENTS_HEAD_TIMEOUT", "2.5")
    monkeypatch.setenv("EVENTS_WS_MAX_BYTES", "1000")
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["access_log"], served["http"].limits.head_timeout, served["ws_max_size"]) == (True, 2.5, 1000)


def test_the_served_process_refuses_oversized_and_stalled_connections(tmp_path: Path) -> None:
    """Over a real socket, on the serving stack: 414, 431 at once; 408 and a close for what stalls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")}
    with served_module(
        "events", tmp_path, env=env | {"EVENTS_HEAD_TIMEOUT": "0.5", "EVENTS_BODY_TIMEOUT": "0.5"}
    ) as server:
        assert_connection_limits(server.url, head_timeout=0.5, body_timeout=0.5)


async def test_the_guarded_protocol_refuses_oversized_and_stalled_connections_in_process(app: FastAPI) -> None:
    """The same probes against the app under uvicorn in this process, where coverage sees the protocol."""
    limits = ServingSettings(head_timeout=0.5, body_timeout=0.5)
    async with live_server(app, http=guarded(limits), ws=DenyingWebSocketProtocol) as server:
        await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
