"""History in MongoDB (mongomock-motor by default): stored, returned latest-first-limited, oldest first.

A message is stored after it is delivered (chat/history_writer.py): a test that has seen it
broadcast waits, with a deadline, for the history to hold it.
"""

import socket
from datetime import UTC, datetime, timedelta

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from chat.app import create_app
from chat.models import StoredMessage
from chat.storage import History, now
from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import make_settings, wait_until_stored


async def send_all(ws: WebSocketConnector, client: LifespanClient, room_id: str, texts: list[str]) -> None:
    """Send `texts` to the room, each seen broadcast before the next is sent; then wait until all are stored."""
    async with ws.connect(f"/ws/chat/{room_id}") as session:
        for text in texts:
            await session.send_text(text)
            assert await session.receive_text() == f"Room {room_id}: {text}"
    await wait_until_stored(client, room_id, texts)


@pytest.mark.websocket
async def test_every_message_is_stored_with_its_room_and_time(ws: WebSocketConnector, client: LifespanClient) -> None:
    before = datetime.now(UTC)
    await send_all(ws, client, "lobby", ["hello", "world"])

    response = await client.get("/api/rooms/lobby/messages")

    assert response.status_code == 200, response.text
    messages = response.json()
    assert [(m["room_id"], m["text"]) for m in messages] == [("lobby", "hello"), ("lobby", "world")]
    for message in messages:
        sent_at = datetime.fromisoformat(message["sent_at"])
        assert before - timedelta(milliseconds=1) <= sent_at <= datetime.now(UTC)  # BSON keeps milliseconds


@pytest.mark.websocket
async def test_the_latest_messages_come_oldest_first(ws: WebSocketConnector, client: LifespanClient) -> None:
    await send_all(ws, client, "lobby", [f"m{i}" for i in range(8)])

    response = await client.get("/api/rooms/lobby/messages", params={"limit": 3})

    assert [m["text"] for m in response.json()] == ["m5", "m6", "m7"]


@pytest.mark.websocket
async def test_rooms_have_their_own_history(ws: WebSocketConnector, client: LifespanClient) -> None:
    await send_all(ws, client, "red", ["r"])
    await send_all(ws, client, "blue", ["b"])

    assert [m["text"] for m in (await client.get("/api/rooms/red/messages")).json()] == ["r"]
    assert (await client.get("/api/rooms/green/messages")).json() == []


async def test_the_default_limit_is_50_and_the_most_is_200(client: LifespanClient) -> None:
    history: History = client.state["history"]
    # Straight into the store: 210 broadcasts would only slow the test.
    await history.add_many([StoredMessage("lobby", f"m{i}", now()) for i in range(210)])

    default = (await client.get("/api/rooms/lobby/messages")).json()
    most = (await client.get("/api/rooms/lobby/messages", params={"limit": 200})).json()

    assert [m["text"] for m in default] == [f"m{i}" for i in range(160, 210)]
    assert [m["text"] for m in most] == [f"m{i}" for i in range(10, 210)]


async def test_messages_of_one_millisecond_keep_their_order(client: LifespanClient) -> None:
    history: History = client.state["history"]
    sent_at = now()  # all of them in the same millisecond: _id breaks the tie
    await history.add_many([StoredMessage("lobby", f"m{i}", sent_at) for i in range(10)])
    await history.add_many([StoredMessage("lobby", f"m{i}", sent_at) for i in range(10, 20)])

    stored = await history.latest("lobby", 20)

    assert [m.text for m in stored] == [f"m{i}" for i in range(20)]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        pytest.param("/api/rooms/lobby/messages?limit=0", "limit", id="limit-0"),
        pytest.param("/api/rooms/lobby/messages?limit=201", "limit", id="limit-201"),
        pytest.param("/api/rooms/lobby/messages?limit=ten", "limit", id="limit-not-a-number"),
        pytest.param(f"/api/rooms/{'a' * 65}/messages", "room_id", id="room-id-too-long"),
        pytest.param("/api/rooms/a.b/messages", "room_id", id="room-id-with-a-dot"),
    ],
)
async def test_bad_history_queries_are_a_422_naming_the_field(client: LifespanClient, path: str, field: str) -> None:
    response = await client.get(path)

    assert response.status_code == 422, response.text
    assert [error["loc"][-1] for error in response.json()["detail"]] == [field]


async def test_an_unreachable_mongo_fails_the_startup() -> None:
    """With CHAT_MONGO_URL set, motor is used; a server that does not answer stops the startup."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    app = create_app(make_settings(None, f"mongodb://127.0.0.1:{port}/chat?serverSelectionTimeoutMS=200"))

    with pytest.raises(ServerSelectionTimeoutError, match=f"127.0.0.1:{port}"):
        async with lifespan_client(app):
            pass  # pragma: no cover
