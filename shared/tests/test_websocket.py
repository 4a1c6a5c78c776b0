"""The WebSocket helpers: httpx-ws without its pitfalls, TestClient with deadlines."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from fastapi_testkit import lifespan_client
from fastapi_testkit.timeouts import ReceiveTimeout
from fastapi_testkit.websocket import WebSocketConnector, receive_text_sync

pytestmark = pytest.mark.websocket


def make_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"greeting": "hello"}

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/echo/{name}")
    async def echo(websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(f"{name}: {text}")

    @app.websocket("/greet")
    async def greet(websocket: WebSocket) -> None:
        await websocket.accept()
        websocket.state.greeting = "changed"  # a connection's own copy of the lifespan state
        await websocket.send_text(websocket.state.greeting)

    @app.websocket("/state")
    async def state(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.state.greeting)
        await websocket.close()

    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(4001, "no")

    @app.websocket("/silent")
    async def silent(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    return app


async def test_an_exception_in_the_block_comes_out_as_itself() -> None:
    ws = WebSocketConnector(make_app())
    with pytest.raises(ValueError, match="boom"):
        async with ws.connect("/echo/a"), ws.connect("/echo/b"):
            raise ValueError("boom")


async def test_sessions_share_the_running_lifespan_state_each_with_its_own_copy() -> None:
    app = make_app()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/greet") as greet:
            assert await greet.receive_text() == "changed"
        async with ws.connect("/state") as state:
            assert await state.receive_text() == "hello"  # the change stayed in its connection
    assert client.state["greeting"] == "hello"


async def test_without_state_the_app_runs_no_lifespan() -> None:
    # What the bare transport does: a route reading lifespan state fails. Hence `state=`.
    ws = WebSocketConnector(make_app())
    async with ws.connect("/state") as session:
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()
    assert closed.value.code == 1011


async def test_every_receive_has_a_deadline() -> None:
    ws = WebSocketConnector(make_app(), receive_timeout=0.1)
    async with ws.connect("/silent") as session:
        with pytest.raises(TimeoutError, match=r"no message within 0\.1s from WebSocket /silent; received: \[\]"):
            await session.receive_text()
        with pytest.raises(TimeoutError, match=r"within 0\.05s"):
            await session.receive_bytes(timeout=0.05)


async def test_a_receive_timeout_fails_as_the_sse_helpers_do_with_what_came_before() -> None:
    """The SSE helpers' exception and message shape (test_sse's twin), with the messages received so far."""
    ws = WebSocketConnector(make_app(), receive_timeout=0.1)
    async with ws.connect("/echo/a") as session:
        await session.send_text("hi")
        assert await session.receive_text() == "a: hi"
        with pytest.raises(ReceiveTimeout) as raised:
            await session.receive_text()

    assert isinstance(raised.value, AssertionError)  # also what a failed expectation raises
    assert str(raised.value) == "no message within 0.1s from WebSocket /echo/a; received: ['a: hi']"


async def test_a_close_before_accept_raises_with_the_servers_code() -> None:
    ws = WebSocketConnector(make_app())
    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect("/refuse"):
            pass  # pragma: no cover

    assert (closed.value.code, closed.value.reason) == (4001, "no")


async def test_several_exceptions_from_the_block_stay_a_group() -> None:
    """Only a lone exception is unwrapped; several are not hidden behind one of them."""
    ws = WebSocketConnector(make_app())

    with pytest.raises(ExceptionGroup) as raised:
        async with ws.connect("/echo/a"):
            raise ExceptionGroup("two", [ValueError("one"), KeyError("other")])

    assert raised.group_contains(ValueError, match="one")
    assert raised.group_contains(KeyError)


async def test_concurrent_handshakes_each_reach_their_own_path() -> None:
    ws = WebSocketConnector(make_app())

    async def visit(i: int) -> str:
        # One task per session, from open to close: httpx-ws's task groups must be exited in
        # the task that entered them ("exit cancel scope in a different task" otherwise).
        async with ws.connect(f"/echo/{i}") as session:
            await session.send_text("hi")
            return await session.receive_text()

    assert await asyncio.gather(*(visit(i) for i in range(10))) == [f"{i}: hi" for i in range(10)]


async def test_the_race_the_connector_avoids_still_exists_in_httpx_ws() -> None:
    """Ten handshakes at once on one httpx-ws client: they reach the wrong paths.

    The transport keeps the scope of the handshake in progress on itself. When this test fails,
    httpx-ws has fixed the race, and the connector's client per connection can go.
    """
    transport = ASGIWebSocketTransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

        async def visit(i: int) -> str:
            async with aconnect_ws(f"/echo/{i}", http, session_class=AsyncWebSocketSession) as session:
                await session.send_text("hi")
                text: str = await session.receive_text(timeout=5)
                return text

        answers = await asyncio.gather(*(visit(i) for i in range(10)))

    assert answers != [f"{i}: hi" for i in range(10)]


def test_receive_text_sync_reads_a_testclient_session_with_a_deadline() -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect

    with TestClient(make_app()) as client:
        with client.websocket_connect("/echo/sync") as session:
            session.send_text("hi")
            assert receive_text_sync(session) == "sync: hi"
            with pytest.raises(ReceiveTimeout, match=r"no message within 0\.1s from the TestClient WebSocket"):
                receive_text_sync(session, timeout=0.1)
            # The session is still usable after a timed-out read.
            session.send_text("again")
            assert receive_text_sync(session) == "sync: again"
        with client.websocket_connect("/state") as session:
            assert receive_text_sync(session) == "hello"
            with pytest.raises(StarletteWebSocketDisconnect) as closed:
                receive_text_sync(session)
            assert closed.value.code == 1000
