"""WebSocket sessions to an in-process ASGI app, on httpx-ws, without its known pitfalls.

httpx-ws (`ASGIWebSocketTransport` and `aconnect_ws`) is the async WebSocket client for an app
that runs in the test's own event loop. Used directly it has three traps, each handled here:

- **Concurrent handshakes on one transport go to the wrong path.** The transport keeps the
  scope of the handshake in progress on itself (`self.scope`) and reads it back after an await,
  so when several handshakes overlap most of them open the last one's path (measured: 9 of 10).
  `WebSocketConnector.connect` gives every connection a client and transport of its own.
- **A client or session entered in a yield fixture fails at teardown** with "Attempted to exit
  cancel scope in a different task than it was entered in": both hold an anyio task group, and
  pytest-asyncio runs a fixture's set-up and teardown in different tasks. Build the connector in
  a plain fixture if you like (it enters nothing), and enter `connect(...)` inside the test.
  The same goes for concurrency: `asyncio.gather(stack.enter_async_context(ws.connect(...)))`
  enters each session in a task of its own and exits it in the test's; to open sessions at
  once, give each a task that opens, uses and closes it.
- **Receives wait forever by default**, so a broadcast that never comes hangs the test until the
  run's timeout. `WebSocketSession` gives every receive a deadline. Starlette's `TestClient`
  sessions have the same trap and no timeout parameter at all: `receive_text_sync` reads from
  one with a deadline.

It also runs nothing of the app's lifespan: pass the state of a lifespan that is already
running (`state=client.state` from the kit's `client` fixture), so that HTTP requests and
WebSockets in one test share the same resources.
"""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import wsproto.events
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fastapi_testkit.timeouts import receive_timeout

if TYPE_CHECKING:
    # Only for the annotation: importing starlette.testclient warns (it moves to httpx2), and
    # a suite that never uses TestClient should not have to silence that.
    from starlette.testclient import WebSocketTestSession

DEFAULT_RECEIVE_TIMEOUT = 5.0
DEFAULT_HANDSHAKE_TIMEOUT = 5.0


class WebSocketSession(AsyncWebSocketSession):
    """An httpx-ws session whose receives give up after `receive_timeout` seconds.

    `receive_text()`, `receive_bytes()`, `receive_json()` and `receive()` all wait at most
    `receive_timeout` seconds unless given a `timeout` of their own, then raise
    `fastapi_testkit.timeouts.ReceiveTimeout` (a `TimeoutError` and an `AssertionError`, with the
    message shape the SSE helpers use: `no message within 5.0s from WebSocket /path; received: [...]`).
    A server close raises `httpx_ws.WebSocketDisconnect`, whose `.code` is the close code.
    """

    receive_timeout: float = DEFAULT_RECEIVE_TIMEOUT
    description: str = "the WebSocket"
    """Where the session goes (`WebSocket /ws/chat/lobby`), for the timeout's message."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.received: list[str | bytes] = []
        """Every text and binary message received so far, in order."""

    async def receive(self, timeout: float | None = None) -> wsproto.events.Event:  # noqa: ASYNC109 (httpx-ws signature)
        deadline = self.receive_timeout if timeout is None else timeout
        try:
            event = await super().receive(deadline)
        except TimeoutError:
            raise receive_timeout("message", deadline, self.description, self.received) from None
        if isinstance(event, wsproto.events.Message):
            self.received.append(event.data)
        return event


def with_state(app: ASGIApp, state: Mapping[str, Any]) -> ASGIApp:
    """`app`, with `state` handed to every connection as its lifespan state (`websocket.state`).

    Each connection gets a shallow copy, as uvicorn gives it: what one connection sets on its
    state stays its own, while the objects in it (pools, registries) are shared.
    """

    async def app_with_state(scope: Scope, receive: Receive, send: Send) -> None:
        await app({**scope, "state": dict(state)}, receive, send)

    return app_with_state


def _sole_exception(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one exception inside `group` and the groups nested in it, or None if there are several.

    httpx-ws nests two task groups, so an exception from the test's block arrives two deep.
    """
    sole: BaseException = group
    while isinstance(sole, BaseExceptionGroup):
        if len(sole.exceptions) != 1:
            return None
        sole = sole.exceptions[0]
    return sole


class WebSocketConnector:
    """Opens WebSocket sessions to an ASGI app in-process, each on a client of its own.

    ```python
    ws = WebSocketConnector(app, state=client.state)
    async with ws.connect("/ws/chat/lobby") as alice, ws.connect("/ws/chat/lobby") as bob:
        await alice.send_text("hi")
        assert await bob.receive_text() == "Room lobby: hi"
    ```
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        state: Mapping[str, Any] | None = None,
        base_url: str = "http://testserver",
        receive_timeout: float = DEFAULT_RECEIVE_TIMEOUT,
        handshake_timeout: float = DEFAULT_HANDSHAKE_TIMEOUT,
    ) -> None:
        self.app = app if state is None else with_state(app, state)
        self.base_url = base_url
        self.receive_timeout = receive_timeout
        self.handshake_timeout = handshake_timeout

    @asynccontextmanager
    async def connect(self, path: str, **kwargs: Any) -> AsyncIterator[WebSocketSession]:
        """Open one session to `path`; keyword arguments go to `httpx_ws.aconnect_ws`.

        Enter it inside the test (see the module's docstring). A close before accept raises
        `httpx_ws.WebSocketDisconnect` with the server's code. An exception raised inside the
        block comes out as itself, not wrapped in the ExceptionGroup of httpx-ws's task group,
        so `pytest.raises` around the block works.
        """
        # A transport of its own per connection: handshakes sharing one transport race (above).
        # `handshake_timeout`: httpx-ws gives up on an app that has not accepted after 1 s by
        # default, which a loaded CI machine can exceed.
        transport = ASGIWebSocketTransport(app=self.app, initial_receive_timeout=self.handshake_timeout)
        try:
            async with (
                httpx.AsyncClient(transport=transport, base_url=self.base_url) as http,
                aconnect_ws(path, http, session_class=WebSocketSession, **kwargs) as session,
            ):
                session.receive_timeout = self.receive_timeout
                session.description = f"WebSocket {path}"
                yield session
        except BaseExceptionGroup as group:
            sole = _sole_exception(group)
            if sole is None:
                raise
            raise sole from sole.__cause__


def receive_text_sync(session: "WebSocketTestSession", timeout: float = DEFAULT_RECEIVE_TIMEOUT) -> str:
    """`session.receive_text()` for a Starlette `TestClient` session, giving up after `timeout` seconds.

    Raises `ReceiveTimeout` (a `TimeoutError`) when nothing arrives in time, and
    `starlette.websockets.WebSocketDisconnect` (with the server's code) when the server closes,
    as `receive_text()` does.
    """

    async def receive() -> Message:
        try:
            with anyio.fail_after(timeout):
                # The session's own receive is this same call without the deadline. `_send_rx`
                # is private to Starlette (unchanged through 1.x): if it moves, this is the line.
                message: Message = await session._send_rx.receive()
                return message
        except TimeoutError:
            # Starlette's session keeps no record of what it received: the message says so.
            raise receive_timeout("message", timeout, "the TestClient WebSocket", None) from None

    message = session.portal.call(receive)
    session._raise_on_close(message)
    text: str = message["text"]
    return text
