"""Against a real uvicorn server (the kit's `live_server`), with a real client: the `websockets` package.

What only a network shows: a refusal before accept is an HTTP status, not a close code; a client
that stops reading really does fill the socket buffers and block the server's sends.
"""

import json

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from chat.history_writer import HistoryWriter
from fastapi_testkit import LiveServer, eventually, live_server
from service_runtime.serving import log_config

from .helpers import bearer, logged_lines, receive, room_sizes, served_stack, token

pytestmark = pytest.mark.websocket


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
# ids: the expired token holds the time it was made, and pytest-xdist needs every worker to
# collect the same ids (a collection that crossed a second boundary failed the run).
@pytest.mark.parametrize(
    "query", ["", "?token=invalid", f"?token={token(expires_in=-60)}"], ids=["no-token", "invalid", "expired"]
)
async def test_a_rejected_notification_socket_is_an_http_401_over_the_network(
    live_server: LiveServer, query: str
) -> None:
    """uvicorn supports the ASGI denial response: the handshake is answered 401, saying why.

    A close code exists only on an open WebSocket, and before accept there is none yet: a close
    there reaches a real client as a bare 403. In-process clients without the extension
    (httpx-ws) see the app's close code instead, 4001.
    """
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live_server.ws_url}/ws/notifications{query}"):
            pass  # pragma: no cover (the handshake is refused)

    response = refused.value.response
    assert response.status_code == 401, response.body
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert json.loads(response.body)["detail"].startswith("invalid token")


async def test_a_bad_room_id_is_an_http_422_over_the_network(live_server: LiveServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{live_server.ws_url}/ws/chat/room!"):
            pass  # pragma: no cover (the handshake is refused)

    response = refused.value.response
    assert response.status_code == 422, response.body
    assert json.loads(response.body) == {"detail": "room id must be 1 to 64 of A-Z a-z 0-9 _ -"}


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


@pytest.mark.auth
async def test_a_handshake_is_logged_with_its_token_redacted(app: FastAPI) -> None:
    """uvicorn logs each handshake with its query string, whatever the access log's setting."""
    valid, expired = token("alice"), token("bob", expires_in=-60)
    async with live_server(app, log_config=log_config(), log_level="info", **served_stack()) as server:
        with logged_lines("uvicorn.error", "uvicorn.access") as lines:
            async with connect(f"{server.ws_url}/ws/notifications?token={valid}&lang=en") as alice:
                await alice.send("ping")
                assert await receive(alice) == "pong"
            with pytest.raises(InvalidStatus):
                async with connect(f"{server.ws_url}/ws/notifications?token={expired}"):
                    pass  # pragma: no cover (the handshake is refused)

    assert any('"WebSocket /ws/notifications?token=***&lang=en" [accepted]' in line for line in lines), lines
    assert any('"WebSocket /ws/notifications?token=***" 401' in line for line in lines), lines
    assert [line for line in lines if valid in line or expired in line] == []
    # A refusal is an answer, not an error (the runtime's DenyingWebSocketProtocol).
    assert [line for line in lines if "without completing handshake" in line] == [], lines


@pytest.mark.auth
async def test_the_access_log_keeps_the_query_but_not_its_credentials(app: FastAPI) -> None:
    secret = token("shop")
    async with live_server(app, log_config=log_config(), log_level="info", access_log=True) as server:
        with logged_lines("uvicorn.error", "uvicorn.access") as lines:
            async with httpx.AsyncClient(base_url=server.url, timeout=5) as http:
                query = {"access_token": secret, "api_key": "k3y-value", "room": "lobby"}
                response = await http.get("/api/rooms", params=query)

    assert response.status_code == 200, response.text
    assert any('"GET /api/rooms?access_token=***&api_key=***&room=lobby HTTP/1.1" 200' in line for line in lines), lines
    assert [line for line in lines if secret in line or "k3y-value" in line] == []


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


async def test_a_failing_history_loses_only_the_history_and_keeps_the_connection(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The message is delivered before it is stored: a store that fails is logged and counted, no more."""

    async def database_down(self: object, messages: object) -> None:
        raise RuntimeError("the database is down")

    monkeypatch.setattr("chat.storage.History.add_many", database_down)
    writer: HistoryWriter = live_server.state["history_writer"]
    async with connect(f"{live_server.ws_url}/ws/chat/lobby") as client:
        for text in ("delivered", "and again"):
            await client.send(text)
            assert await receive(client) == f"Room lobby: {text}"

        async def counted() -> bool:
            assert writer.failed == 2
            return True

        await eventually(counted)
        await client.send("still open")
        assert await receive(client) == "Room lobby: still open"

    assert "the database is down" in caplog.text  # logged, with its traceback
    assert "Could not store 1 messages in the history" in caplog.text


async def test_a_failing_publish_closes_with_1011_and_leaks_no_member(
    live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Not bad input, but the same promise: an error ends that one connection, cleanly."""

    async def redis_down(self: object, room_id: str, text: str) -> None:
        raise RuntimeError("Redis is down")

    for fanout in ("LocalFanOut", "RedisFanOut"):  # whichever the backend uses
        monkeypatch.setattr(f"chat.fanout.{fanout}.publish", redis_down)
    writer: HistoryWriter = live_server.state["history_writer"]
    async with connect(f"{live_server.ws_url}/ws/chat/lobby") as client:
        await client.send("lost")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(client)

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011
    assert "Redis is down" in caplog.text  # logged, with its traceback
    assert writer.pending == writer.stored == 0  # not delivered, so not stored

    async def empty() -> bool:
        assert await room_sizes(live_server.url) == {}
        return True

    await eventually(empty)
