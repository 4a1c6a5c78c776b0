"""What more than one test module of the chat suite needs: settings, tokens, reading rooms and sockets."""

import asyncio
import base64
import logging
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from websockets.asyncio.client import ClientConnection

from chat.serving import ServingSettings
from chat.settings import Settings
from fastapi_testkit import LifespanClient, create_token, eventually
from service_runtime.serving import DenyingWebSocketProtocol

SECRET = "test-secret-that-is-at-least-32-bytes"
LEEWAY = 10  # seconds of clock skew forgiven on a token's times: the service's default


def make_settings(redis_url: str | None, mongo_url: str | None, **overrides: Any) -> Settings:
    # Every field set explicitly, so CHAT_* variables in the shell cannot leak into tests.
    fields: dict[str, Any] = {
        "redis_url": redis_url,
        "mongo_url": mongo_url,
        "jwt_secret": SECRET,
        "jwt_leeway": LEEWAY,
        "max_message_bytes": 4096,
        "queue_size": 5000,
        "queue_bytes": 8 * 1024 * 1024,
        "send_timeout": 1.0,  # a stalled reader is dropped within a second
        "send_rate": 10_000.0,  # no test is throttled unless it asks to be (test_limits.py)
        "send_burst": 10_000,
        "history_queue_size": 10_000,
        "history_flush_timeout": 5.0,
    }
    return Settings(**(fields | overrides))


def token(user_id: str = "alice", **claims: Any) -> str:
    """A valid token for `user_id`, signed with the suite's secret."""
    return create_token(user_id, SECRET, **claims)


def bearer(user_id: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


async def rooms(client: LifespanClient) -> dict[str, int]:
    """Room id -> members, as the service reports them."""
    response = await client.get("/api/rooms")
    assert response.status_code == 200, response.text
    return {room["room_id"]: room["members"] for room in response.json()}


async def receive(connection: ClientConnection, timeout: float = 5) -> str:  # noqa: ASYNC109 (a read's deadline)
    """The next text message, within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        message = await connection.recv()
    assert isinstance(message, str)
    return message


async def stored_texts(client: LifespanClient, room_id: str, limit: int = 200) -> list[str]:
    """The texts the history returns for `room_id`, oldest first."""
    response = await client.get(f"/api/rooms/{room_id}/messages", params={"limit": limit})
    assert response.status_code == 200, response.text
    return [message["text"] for message in response.json()]


async def wait_until_stored(client: LifespanClient, room_id: str, texts: list[str]) -> None:
    """Wait (5 s at most) until the history of `room_id` is exactly `texts`: it is written after delivery."""

    async def stored() -> bool:
        assert await stored_texts(client, room_id) == texts
        return True

    await eventually(stored)


async def room_sizes(server_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=server_url, timeout=5) as http:
        return {room["room_id"]: room["members"] for room in (await http.get("/api/rooms")).json()}


def stall_sends(app: ASGIApp, reading: anyio.Event) -> ASGIApp:
    """`app`, but connections with `?stall` in their URL take nothing sent until `reading` is set.

    What a client that stops reading looks like to the server once the socket buffers between
    them are full: every send waits. (In-process, httpx-ws buffers without limit, so without
    this a send never waits; the live-server test shows the same over real sockets.)
    """

    async def stalled(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or b"stall" not in scope["query_string"]:
            return await app(scope, receive, send)

        async def slow_send(message: Message) -> None:
            if message["type"] == "websocket.send":
                await reading.wait()
            await send(message)

        return await app(scope, receive, slow_send)

    return stalled


async def open_unread_socket(port: int, path: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads.

    By hand, on a raw socket with a small receive buffer: a client library reads what arrives
    into memory of its own (and the kernel grows a loopback buffer to megabytes), so the
    server's sends would not block for a long while.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(5):
        await loop.sock_connect(sock, ("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        answer = await loop.sock_recv(sock, 1024)
    assert answer.startswith(b"HTTP/1.1 101 "), answer
    return sock


LIMITS = ("send_timeout", "queue_size", "queue_bytes", "send_rate", "send_burst")
# The service's own defaults for every limit: make_settings(..., **DEFAULT_LIMITS) runs on them.
DEFAULT_LIMITS: dict[str, Any] = {name: Settings.model_fields[name].default for name in LIMITS}


def served_stack() -> dict[str, Any]:
    """What serving.py gives uvicorn for WebSockets, for the kit's live_server: the deployed stack."""
    return {"ws": DenyingWebSocketProtocol, "ws_max_size": ServingSettings().ws_max_bytes}


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def logged_lines(*names: str) -> Iterator[list[str]]:
    """The messages the loggers `names` write, from INFO up, while the block runs.

    The handler sits on each logger itself: uvicorn's do not pass records on to the root logger,
    where `caplog` listens. Enter it once the server runs (uvicorn's set-up drops a logger's handlers).
    """
    lines: list[str] = []
    handler = _Lines(lines)
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
