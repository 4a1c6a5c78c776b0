"""`python -m events` (what `hatch run events:serve` runs): the real process, a real client."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from events.__main__ import GRACEFUL_SHUTDOWN_SECONDS
from fastapi_testkit import eventually
from fastapi_testkit.sse import sse_stream

pytestmark = [pytest.mark.slow, pytest.mark.sse]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Served:
    def __init__(self, process: "subprocess.Popen[bytes]", url: str, log: Path) -> None:
        self.process, self.url, self.log = process, url, log


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """The service on its embedded defaults (fakeredis), its port from PORT."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTS_")} | {"PORT": str(port)}
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "events"], cwd=tmp_path, env=env, stderr=output)
        try:
            yield Served(process, f"http://127.0.0.1:{port}", log)
        finally:
            if process.poll() is None:
                process.terminate()
            # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
            assert process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10) == -signal.SIGTERM
    assert "Application shutdown complete" in log.read_text()  # the lifespan closed its Redis client


async def wait_until_healthy(http: httpx.AsyncClient) -> None:
    async def healthy() -> bool:
        try:
            return bool((await http.get("/health")).json() == {"status": "ok"})
        except httpx.TransportError:
            return False

    await eventually(healthy, timeout=15, message="the server never answered /health")


async def test_the_served_app_streams_to_a_real_client(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
        await wait_until_healthy(http)
        async with sse_stream(http, "/api/topics/news/stream") as stream:
            published = await http.post("/api/topics/news/events", json={"event": "headline", "data": "hello"})
            event = await stream.next_event()
        demo = await http.get("/api/events/news")

    assert published.status_code == 201
    assert (event.id, event.event, event.data) == (published.json()["id"], "headline", '"hello"')
    assert demo.text.count("data: Event") == 5


async def test_an_open_stream_does_not_keep_the_server_from_stopping(served: Served) -> None:
    """uvicorn waits for open responses before it stops, and a stream never ends by itself."""
    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
        await wait_until_healthy(http)
        async with sse_stream(http, "/api/topics/news/stream", timeout=GRACEFUL_SHUTDOWN_SECONDS + 10) as stream:
            served.process.terminate()
            stopping = time.monotonic()
            # After its grace period uvicorn cancels the stream and drops the connection; a
            # browser's EventSource then reconnects, with Last-Event-ID, wherever it is sent.
            with pytest.raises(httpx.RemoteProtocolError):
                await stream.next_event()
            served.process.wait(timeout=GRACEFUL_SHUTDOWN_SECONDS + 10)

    assert time.monotonic() - stopping < GRACEFUL_SHUTDOWN_SECONDS + 5


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from events import __main__

    calls: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("PORT", "9001")

    __main__.main(["--port", "9002"])
    __main__.main([])

    assert [c["port"] for c in calls] == [9002, 9001]
    assert calls[0]["factory"] is True
    assert calls[0]["timeout_graceful_shutdown"] == GRACEFUL_SHUTDOWN_SECONDS
