"""`python -m chat` (what `hatch run chat:serve` runs): the real process, two real WebSocket clients."""

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from chat.__main__ import main
from chat.serving import ServingSettings
from fastapi_testkit import eventually, live_server
from fastapi_testkit.probes import assert_connection_limits
from fastapi_testkit.process import ServedProcess, served_module, uvicorn_arguments
from service_runtime.serving import DenyingWebSocketProtocol, GuardedHttpToolsProtocol, guarded

from .helpers import SECRET, receive, token

pytestmark = [pytest.mark.slow, pytest.mark.websocket]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedProcess]:
    """The service on its embedded defaults (rooms in the process, mongomock), its port from PORT."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    with served_module("chat", tmp_path, env=env) as server:
        yield server
    # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
    assert server.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in server.log  # the lifespan closed the history


async def test_the_served_app_serves_two_real_clients_in_one_room(served: ServedProcess) -> None:
    ws_url = served.url.replace("http://", "ws://")
    async with connect(f"{ws_url}/ws/chat/lobby") as alice, connect(f"{ws_url}/ws/chat/lobby") as bob:
        await alice.send("hi bob")
        assert await receive(bob) == "Room lobby: hi bob"
        assert await receive(alice) == "Room lobby: hi bob"
        await bob.send("hi alice")
        assert await receive(alice) == "Room lobby: hi alice"
        assert await receive(bob) == "Room lobby: hi alice"

    async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:

        async def stored() -> bool:  # written after delivery: soon, not at once
            assert [m["text"] for m in (await http.get("/api/rooms/lobby/messages")).json()] == ["hi bob", "hi alice"]
            return True

        await eventually(stored)


async def test_the_served_process_logs_no_token(tmp_path: Path) -> None:
    """Its handshake line and access line are in the process's output, each token as `***`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    secret = token("alice")
    with served_module("chat", tmp_path, env=env | {"CHAT_ACCESS_LOG": "true", "CHAT_JWT_SECRET": SECRET}) as server:
        ws_url = server.url.replace("http://", "ws://")
        async with connect(f"{ws_url}/ws/notifications?token={secret}") as alice:
            await alice.send("ping")
            assert await receive(alice) == "pong"
        async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
            assert (await http.get("/api/rooms", params={"token": secret})).status_code == 200

    log = server.log  # complete once the process has ended: stdout (the access log) is buffered
    assert '"WebSocket /ws/notifications?token=***" [accepted]' in log, log
    assert '"GET /api/rooms?token=*** HTTP/1.1" 200' in log, log
    assert secret not in log


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")

    served = uvicorn_arguments(main, [], monkeypatch)

    assert served["port"] == 9001
    assert served["factory"] is True  # a fresh app from create_app(), reading its settings
    assert uvicorn_arguments(main, ["--port", "9002"], monkeypatch)["port"] == 9002


def test_it_serves_on_the_deployed_stack_with_its_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAT_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["ws"], served["access_log"]) == ("uvloop", DenyingWebSocketProtocol, False)
    assert issubclass(served["http"], GuardedHttpToolsProtocol)  # httptools, with deadlines and caps

    monkeypatch.setenv("CHAT_ACCESS_LOG", "true")
    monkeypatch.setenv("CHAT_HEAD_TIMEOUT", "2.5")
    monkeypatch.setenv("CHAT_WS_MAX_BYTES", "1000")
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["access_log"], served["http"].limits.head_timeout, served["ws_max_size"]) == (True, 2.5, 1000)


def test_the_served_process_refuses_oversized_and_stalled_connections(tmp_path: Path) -> None:
    """Over a real socket, on the serving stack: 414, 431 at once; 408 and a close for what stalls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAT_")}
    scaled = {"CHAT_HEAD_TIMEOUT": "0.5", "CHAT_BODY_TIMEOUT": "0.5"}
    with served_module("chat", tmp_path, env=env | scaled) as server:
        assert_connection_limits(server.url, head_timeout=0.5, body_timeout=0.5)


async def test_the_guarded_protocol_refuses_oversized_and_stalled_connections_in_process(app: FastAPI) -> None:
    """The same probes against the app under uvicorn in this process, where coverage sees the protocol."""
    limits = ServingSettings(head_timeout=0.5, body_timeout=0.5)
    async with live_server(app, http=guarded(limits), ws=DenyingWebSocketProtocol) as server:
        await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
