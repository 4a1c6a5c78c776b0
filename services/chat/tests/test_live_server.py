"""Against a real uvicorn server (the kit's `live_server`), with a real client: the `websockets` package.

What only a network shows: a close before accept is an HTTP 403, not a close code; a client
that stops reading really does fill the socket buffers and block the server's sends.
"""

import asyncio
import base64
import os
import socket
from contextlib import closing

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.app import create_app
from fastapi_testkit import LiveServer, eventually, live_server

from .helpers import bearer, make_settings, receive, token

pytestmark = pytest.mark.websocket


async def room_sizes(server_url: str) -> dict[str, int]:
    async with httpx.AsyncClient(base_url=server_url, timeout=5) as http:
        return {room["room_id"]: room["members"] for room in (await http.get("/api/rooms")).json()}


async def test_broadcast_reaches_every_real_client(live_server: LiveServer) -> None:
    url = f"{live_server.ws_url}/ws/chat/lobby"
    async with connect(url) as alice, connect(url) as bob, connect(url) as carol:
        await alice.send("hello over TCP")
        for member in (alice, bob, carol):
            assert await receive(member) == "Room lobby: hello over TCP"


async def test_the_room_is_empty_again_after_real_clients_leave(live_server: LiveServer) -> None:
    url = f"{live_server.ws_url}/ws/chat/lobby"
    async with connect(url), connect(url):
        assert await room_sizes(live_server.url) == {"lobby": 2}

    async def empty() -> bool:
        assert await room_sizes(live_server.url) == {}
        return True

    await eventually(empty)


@pytest.mark.auth
@pytest.mark.parametrize("query", ["", "?token=invalid", f"?token={token(expires_in=-10)}"])
async def test_a_rejected_notification_socket_is_an_http_403_over_the_network(
    live_server: LiveServer, query: str
) -> None:
    """The app closes with 4001 before accepting; uvicorn answers such a handshake with 403.

    A close code exists only on an open WebSocket, and before accept there is none yet: the
    server refuses the HTTP upgrade instead. In-process clients (TestClient, httpx-ws) pass the
    app's close message through, so there the same refusal shows as code 4001.
    """
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live_server.ws_url}/ws/notifications{query}"):
            pass  # pragma: no cover (the handshake is refused)

    assert refused.value.response.status_code == 403, refused.value.response.body


async def test_a_bad_room_id_is_an_http_403_over_the_network(live_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live_server.ws_url}/ws/chat/room!"):
            pass  # pragma: no cover (the handshake is refused)

    assert refused.value.response.status_code == 403, refused.value.response.body


@pytest.mark.auth
async def test_a_push_reaches_a_real_notification_socket(live_server: LiveServer) -> None:
    async with connect(f"{live_server.ws_url}/ws/notifications?token={token('alice')}") as alice:
        await alice.send("ping")
        assert await receive(alice) == "pong"
        async with httpx.AsyncClient(base_url=live_server.url, timeout=5) as http:
            response = await http.post(
                "/api/notifications", json={"user_id": "alice", "message": "over TCP"}, headers=bearer("shop")
            )
        assert response.json() == {"reached": 1}
        assert await receive(alice) == "over TCP"


@pytest.mark.parametrize(
    ("message", "code"),
    [pytest.param("x" * 4097, 1009, id="too-big"), pytest.param(b"\x00", 1003, id="binary")],
)
async def test_bad_input_gets_its_close_code_over_the_network(
    live_server: LiveServer, message: str | bytes, code: int
) -> None:
    async with connect(f"{live_server.ws_url}/ws/chat/lobby") as client:
        await client.send(message)
        with pytest.raises(ConnectionClosed) as closed:
            await receive(client)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code


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


@pytest.mark.slow
async def test_a_client_that_stops_reading_is_dropped_and_the_room_goes_on(
    redis_url: str | None, mongo_url: str | None
) -> None:
    """Real backpressure: once the socket buffers are full, every send to the reader waits.

    The room does not wait with it: the member's queue fills, the member is dropped, and the
    sender goes on receiving every message at once. (The close frame cannot reach a client
    that does not read; the server gives up on it after a few seconds.)
    """
    app = create_app(make_settings(redis_url, mongo_url, queue_size=8))
    async with live_server(app) as server:
        with closing(await open_unread_socket(server.port, "/ws/chat/lobby")):
            async with connect(f"{server.ws_url}/ws/chat/lobby") as sender:
                assert await room_sizes(server.url) == {"lobby": 2}
                # A few MB fill the buffers on loopback; send until the member is dropped.
                for i in range(5000):
                    await sender.send(f"{i:05d} " + "x" * 4000)
                    assert (await receive(sender)).startswith(f"Room lobby: {i:05d} ")
                    if i % 20 == 0 and await room_sizes(server.url) == {"lobby": 1}:
                        break
                else:
                    pytest.fail("the member that stopped reading was never dropped")
                await sender.send("after the drop")
                assert await receive(sender) == "Room lobby: after the drop"


async def test_a_failing_history_closes_with_1011_and_leaks_no_member(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not bad input, but the same promise: an error ends that one connection, cleanly."""

    async def database_down(self: object, room_id: str, text: str) -> None:
        raise RuntimeError("the database is down")

    monkeypatch.setattr("chat.storage.History.add", database_down)
    async with connect(f"{live_server.ws_url}/ws/chat/lobby") as client:
        await client.send("lost")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(client)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011
    assert "the database is down" in caplog.text  # logged, with its traceback

    async def empty() -> bool:
        assert await room_sizes(live_server.url) == {}
        return True

    await eventually(empty)
