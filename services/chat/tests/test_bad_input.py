"""Bad input on the sockets: each refused with its exact close code, nothing crashed or leaked."""

import anyio
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx_ws import WebSocketDisconnect
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect

from chat.app import create_app
from chat.settings import Settings
from fastapi_testkit import LifespanClient, eventually, lifespan_client
from fastapi_testkit.websocket import WebSocketConnector, receive_text_sync

from .helpers import make_settings, rooms, stall_sends, token

pytestmark = pytest.mark.websocket


async def no_rooms_left(client: LifespanClient) -> None:
    """Every member is gone from the service's rooms (disconnects are seen a moment later)."""

    async def empty() -> bool:
        assert await rooms(client) == {}
        return True

    await eventually(empty)


@pytest.mark.parametrize(
    "room_id",
    [
        pytest.param("a" * 65, id="too-long"),
        pytest.param("room!", id="punctuation"),
        pytest.param("a.b", id="dot"),
        pytest.param("x~y", id="tilde"),
    ],
)
async def test_a_bad_room_id_is_closed_with_1008(ws: WebSocketConnector, client: LifespanClient, room_id: str) -> None:
    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect(f"/ws/chat/{room_id}"):
            pass  # pragma: no cover (the server closes before accepting)

    assert closed.value.code == 1008
    assert closed.value.reason == "room id must be 1 to 64 of A-Z a-z 0-9 _ -"
    assert await rooms(client) == {}


@pytest.mark.parametrize("room_id", ["two words", "café"])
def test_a_room_id_that_needs_percent_encoding_is_refused_with_422(app: FastAPI, room_id: str) -> None:
    # TestClient, because httpx-ws puts the decoded path in its request line, which h11 refuses.
    # TestClient carries the denial response, as uvicorn does: an HTTP 422 rather than close 1008.
    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect(f"/ws/chat/{room_id}"),
    ):
        pass  # pragma: no cover (the server refuses before accepting)

    assert refused.value.status_code == 422


@pytest.mark.parametrize("room_id", ["a" * 64, "A", "Az09_-"])
async def test_the_edges_of_a_good_room_id_are_accepted(ws: WebSocketConnector, room_id: str) -> None:
    async with ws.connect(f"/ws/chat/{room_id}") as session:
        await session.send_text("hi")
        assert await session.receive_text() == f"Room {room_id}: hi"


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        pytest.param("x" * 4096, True, id="4096-bytes"),
        pytest.param("é" * 2048, True, id="4096-bytes-of-2048-characters"),
        pytest.param("x" * 4097, False, id="4097-bytes"),
        pytest.param("é" * 2049, False, id="4098-bytes-of-2049-characters"),
    ],
)
async def test_the_size_limit_counts_utf8_bytes_and_closes_with_1009(
    ws: WebSocketConnector, client: LifespanClient, text: str, accepted: bool
) -> None:
    async with ws.connect("/ws/chat/lobby") as sender, ws.connect("/ws/chat/lobby") as other:
        await sender.send_text(text)
        if accepted:
            assert await other.receive_text() == f"Room lobby: {text}"
            return
        with pytest.raises(WebSocketDisconnect) as closed:
            await sender.receive_text()
        assert closed.value.code == 1009
        assert closed.value.reason == "message over 4096 bytes"
        # Not broadcast, not stored; the others stay connected and the room goes on.
        await other.send_text("still here")
        assert await other.receive_text() == "Room lobby: still here"
        assert await rooms(client) == {"lobby": 1}
    assert [m["text"] for m in (await client.get("/api/rooms/lobby/messages")).json()] == ["still here"]


async def test_the_size_limit_comes_from_settings(redis_url: str | None, mongo_url: str | None) -> None:
    app = create_app(make_settings(redis_url, mongo_url, max_message_bytes=10))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/ws/chat/lobby") as session:
            await session.send_text("x" * 10)
            assert await session.receive_text() == f"Room lobby: {'x' * 10}"
            await session.send_text("x" * 11)
            with pytest.raises(WebSocketDisconnect) as closed:
                await session.receive_text()
    assert closed.value.code == 1009


async def test_a_binary_frame_is_closed_with_1003(ws: WebSocketConnector, client: LifespanClient) -> None:
    async with ws.connect("/ws/chat/lobby") as session:
        await session.send_bytes(b"\x00\x01")
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()

    assert closed.value.code == 1003
    await no_rooms_left(client)


# ids: the token holds the time it was made, and pytest-xdist needs every worker to collect the
# same ids (a collection that crossed a second boundary failed the run).
@pytest.mark.parametrize(
    "path", ["/ws/chat/lobby", f"/ws/notifications?token={token()}"], ids=["chat", "notifications"]
)
def test_text_that_is_not_unicode_is_closed_with_1007(app: FastAPI, path: str) -> None:
    """A lone surrogate cannot be encoded as UTF-8 (nor stored): refused, not a crash.

    Only an in-process client can send one (a network client's frames are bytes, checked by the
    server); TestClient hands the string to the app as it is.
    """
    with TestClient(app) as client, client.websocket_connect(path) as session:
        session.send_text("\ud800")
        with pytest.raises(StarletteWebSocketDisconnect) as closed:
            receive_text_sync(session)

    assert closed.value.code == 1007


@pytest.mark.auth
async def test_a_notification_socket_understands_only_ping(ws: WebSocketConnector) -> None:
    async with ws.connect("/ws/notifications", params={"token": token()}) as session:
        await session.send_text("hello?")
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()

    assert closed.value.code == 1008
    assert closed.value.reason == "only 'ping' is understood here"


async def test_a_member_that_stops_reading_cannot_stall_the_room(redis_url: str | None, mongo_url: str | None) -> None:
    settings: Settings = make_settings(redis_url, mongo_url, queue_size=5)
    app = create_app(settings)
    reading = anyio.Event()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(stall_sends(app, reading), state=client.state)
        async with (
            ws.connect("/ws/chat/lobby?stall") as stalled,
            ws.connect("/ws/chat/lobby") as sender,
            ws.connect("/ws/chat/lobby") as reader,
        ):
            # One message is taken by the stalled member's writer (and waits); five fill its
            # queue; the seventh finds the queue full and drops it from the room.
            sent = [f"message {i}" for i in range(20)]
            for text in sent:
                await sender.send_text(text)
            for member in (sender, reader):
                assert [await member.receive_text() for _ in sent] == [f"Room lobby: {text}" for text in sent]
            assert await rooms(client) == {"lobby": 2}

            reading.set()  # the client reads again: what it was sent before being dropped, then the close
            received: list[str] = []

            async def read_until_closed() -> None:
                while True:
                    received.append(await stalled.receive_text())

            with pytest.raises(WebSocketDisconnect) as closed:
                await read_until_closed()
            assert closed.value.code == 1008
            assert closed.value.reason == "too slow: messages were not read in time"
            assert received == [f"Room lobby: message {i}" for i in range(len(received))]
            assert len(received) <= 6
