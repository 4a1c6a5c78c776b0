"""WebSockets through the gateway: frames both ways, close codes passed through.

In-process the gateway's client is the kit's WebSocketConnector and its upstream the fake chat
behind httpx-ws's transport; over real sockets both run under uvicorn and the client is the
`websockets` library, where a close before accept arrives as a bare HTTP 403 (DESIGN.md section
6) and a refusal of the gateway's own as its HTTP status (the ASGI denial response).
"""

import asyncio
import json
import logging
from contextlib import AsyncExitStack

import httpx
import pytest
import websockets
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.types import Message

from fastapi_testkit import LifespanClient, LiveServer, eventually, lifespan_client, live_server
from fastapi_testkit.routing import RoutingTransport
from fastapi_testkit.websocket import WebSocketConnector
from gateway.app import create_app
from gateway.settings import Settings
from gateway.streams import STREAM_RETRY_AFTER

from .helpers import LONG_WINDOW, failing, fake_upstream, logged_records

pytestmark = [pytest.mark.websocket, pytest.mark.proxy]


async def test_text_and_binary_frames_go_both_ways(app: FastAPI, client: LifespanClient) -> None:
    ws = WebSocketConnector(app, state=client.state)

    async with ws.connect("/chat/ws/echo?token=t0k") as session:
        await session.send_text("hello")
        assert await session.receive_text() == "chat: hello t0k"
        await session.send_bytes(b"\x00\x01\xff")
        assert await session.receive_bytes() == b"\xff\x01\x00"


async def test_an_upstream_close_reaches_the_client_with_its_code(app: FastAPI, client: LifespanClient) -> None:
    ws = WebSocketConnector(app, state=client.state)

    async with ws.connect("/chat/ws/echo") as session:
        await session.send_text("bye")
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()

    assert (closed.value.code, closed.value.reason) == (4000, "upstream says bye")


async def test_a_client_close_reaches_the_upstream_with_its_code(
    app: FastAPI, client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    closes: list[int] = []
    upstream = ASGIWebSocketTransport(app=fake_upstream("chat", closes))
    async with upstream:
        upstreams["chat.test"] = upstream
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/chat/ws/echo") as session:
            await session.send_text("hi")
            await session.receive_text()
        # Leaving the block closes with 1000; a code of the client's own is shown over real
        # sockets below (httpx-ws's in-process stream fails on an explicit close, then the exit's).

        async def upstream_saw_the_close() -> bool:
            return closes == [1000]

        await eventually(upstream_saw_the_close, message=f"upstream saw {closes}")


async def test_a_close_before_accept_reaches_the_client_with_the_upstreams_code(
    app: FastAPI, client: LifespanClient
) -> None:
    ws = WebSocketConnector(app, state=client.state)

    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect("/chat/ws/refuse"):
            pass  # pragma: no cover

    assert closed.value.code == 4001


@pytest.mark.parametrize(("path", "code"), [("/billing/ws", 1008), ("/chat/%2e%2e/ws", 1008)])
async def test_what_the_gateway_refuses_is_closed_before_accept(
    app: FastAPI, client: LifespanClient, path: str, code: int
) -> None:
    ws = WebSocketConnector(app, state=client.state)

    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect(path):
            pass  # pragma: no cover

    assert closed.value.code == code


async def _refusal(url: str, headers: dict[str, str] | None = None) -> websockets.InvalidStatus:
    """The HTTP answer a real client gets when its handshake is refused."""
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, additional_headers=headers):
            pass  # pragma: no cover (the handshake is refused)
    return refused.value


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        pytest.param("/billing/ws", 404, "Unknown service 'billing'", id="unknown-service"),
        pytest.param("/chat/%2e%2e/ws", 400, "Path must not contain '..' segments", id="bad-path"),
    ],
)
async def test_over_a_real_socket_a_refusal_is_answered_with_its_http_status(
    live_server: LiveServer, path: str, status: int, detail: str
) -> None:
    """uvicorn carries the ASGI denial response: the client reads why, not a bare 403
    (in-process, without the extension, the same refusals are the close codes above)."""
    refused = await _refusal(f"{live_server.ws_url}{path}")

    assert refused.response.status_code == status, refused.response.body
    assert json.loads(refused.response.body) == {"detail": detail}


async def test_over_a_real_socket_a_client_over_its_rate_limit_gets_429_with_retry_after(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    limited = settings.model_copy(update={"rate_limit": 1})
    async with live_server(create_app(limited, transport=RoutingTransport(upstreams))) as gateway:
        url = f"{gateway.ws_url}/chat/ws/echo"
        async with websockets.connect(url) as first:
            await first.send("hi")
            assert await first.recv() == "chat: hi"
        refused = await _refusal(url)

    assert refused.response.status_code == 429, refused.response.body
    assert 0 < int(refused.response.headers["Retry-After"]) <= LONG_WINDOW
    assert json.loads(refused.response.body) == {"detail": "Rate limit exceeded"}


async def test_over_a_real_socket_a_client_over_its_stream_cap_gets_429_and_over_the_total_503(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    capped = settings.model_copy(update={"max_streams": 3, "max_streams_per_client": 2})
    async with (
        live_server(create_app(capped, transport=RoutingTransport(upstreams))) as gateway,
        AsyncExitStack() as sockets,
    ):
        url = f"{gateway.ws_url}/chat/ws/echo"
        for key in ("alice", "alice", "bob"):  # each holds a slot while it is open
            await sockets.enter_async_context(websockets.connect(url, additional_headers={"X-API-Key": key}))
        over_client = await _refusal(url, {"X-API-Key": "alice"})
        over_total = await _refusal(url, {"X-API-Key": "bob"})

    for refused, status in ((over_client, 429), (over_total, 503)):
        assert refused.response.status_code == status, refused.response.body
        assert refused.response.headers["Retry-After"] == str(STREAM_RETRY_AFTER)
    assert json.loads(over_client.response.body) == {"detail": "Too many open streams for this client"}
    assert json.loads(over_total.response.body) == {"detail": "Too many open streams"}


async def test_in_process_a_client_over_its_stream_cap_is_closed_with_1013(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    app = create_app(settings.model_copy(update={"max_streams_per_client": 1}), transport=RoutingTransport(upstreams))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/chat/ws/echo", headers=ALICE):
            with pytest.raises(WebSocketDisconnect) as closed:
                async with ws.connect("/chat/ws/echo", headers=ALICE):
                    pass  # pragma: no cover

    assert (closed.value.code, closed.value.reason) == (1013, "Too many open streams for this client")


@pytest.mark.slow
async def test_over_real_sockets_frames_pass_and_a_refusal_is_403(settings: Settings) -> None:
    closes: list[int] = []
    async with live_server(fake_upstream("chat", closes)) as chat:
        gateway_app = create_app(settings.model_copy(update={"chat_url": chat.url}))
        async with live_server(gateway_app) as gateway:
            base = gateway.url.replace("http://", "ws://")
            async with websockets.connect(f"{base}/chat/ws/echo?token=t0k") as socket:
                await socket.send("hello")
                assert await socket.recv() == "chat: hello t0k"
                await socket.send(b"\x01\x02")
                assert await socket.recv() == b"\x02\x01"
                await socket.send("bye")
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await socket.recv()
                assert closed.value.rcvd is not None
                assert closed.value.rcvd.code == 4000

            async with websockets.connect(f"{base}/chat/ws/echo") as socket:
                await socket.send("hi")
                await socket.recv()
                await socket.close(4321)

            async def upstream_saw_the_close() -> bool:
                return closes == [4321]

            await eventually(upstream_saw_the_close, message=f"upstream saw {closes}")

            with pytest.raises(websockets.InvalidStatus) as refused:
                async with websockets.connect(f"{base}/chat/ws/refuse"):
                    pass  # pragma: no cover
            assert refused.value.response.status_code == 403
            # An upstream's own HTTP answer to the handshake reaches the client as it was.
            denied = await _refusal(f"{base}/chat/ws/deny")
            assert denied.response.status_code == 401, denied.response.body


@pytest.mark.parametrize("leaves", ["closes", "drops the connection"])
async def test_a_client_that_sends_and_leaves_at_once_is_no_error_over_real_sockets(
    settings: Settings, leaves: str
) -> None:
    """A message, then gone, while the upstream talks: the gateway's send to the client fails
    (Starlette's WebSocketDisconnect, inside httpx-ws's task group), which was an "Exception in
    ASGI application" with a traceback each time. A client that leaves is a normal exit: nothing
    from WARNING up, on either server."""
    tries = 20
    async with live_server(fake_upstream("chat"), ws="websockets-sansio") as chat:
        gateway_app = create_app(settings.model_copy(update={"chat_url": chat.url}))
        async with live_server(gateway_app, ws="websockets-sansio") as gateway:
            slots = gateway.state["stream_slots"]
            with logged_records("uvicorn", "gateway", "httpx", "httpx_ws", "asyncio") as records:
                for _ in range(tries):
                    socket = await websockets.connect(f"{gateway.ws_url}/chat/ws/chatty")
                    await socket.send("hello")
                    if leaves == "closes":
                        await socket.close()
                    else:
                        socket.transport.abort()

                    async def its_session_ended() -> bool:
                        return not slots.open

                    await eventually(its_session_ended, message=f"stream slots still open: {slots.open}")

    assert [f"{r.name}: {r.getMessage()} {r.exc_info!r}" for r in records if r.levelno >= logging.WARNING] == []


async def test_a_handshake_header_that_is_not_ascii_reaches_the_upstream_as_its_bytes(
    app: FastAPI, client: LifespanClient
) -> None:
    """Origin, User-Agent and Authorization are passed on as the bytes received (a str that is
    not ASCII made httpx refuse the upstream handshake: the client's failed)."""
    not_ascii = b"caf\xe9"
    ws = WebSocketConnector(app, state=client.state)
    sent = {"Origin": not_ascii, "User-Agent": not_ascii, "Authorization": b"Bearer " + not_ascii}

    async with ws.connect("/chat/ws/headers", headers=dict(sent)) as session:  # httpx-ws adds to it
        seen = await session.receive_json()

    assert {name: seen[name.lower()].encode("latin-1") for name in sent} == sent


async def test_a_handshake_that_waits_past_the_redis_pool_timeout_is_closed_to_try_again(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Every Redis connection busy past GATEWAY_REDIS_POOL_TIMEOUT: closed with 1013 before
    accept, not let through uncounted and not an error."""
    one = settings.model_copy(update={"redis_max_connections": 1, "redis_pool_timeout": 0.05})
    app = create_app(one, transport=RoutingTransport(upstreams))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        pool = client.state["redis"].connection_pool
        busy = await pool.get_connection()
        try:
            with pytest.raises(WebSocketDisconnect) as closed:
                async with ws.connect("/chat/ws/echo"):
                    pass  # pragma: no cover
        finally:
            await pool.release(busy)

    assert (closed.value.code, closed.value.reason) == (1013, "The gateway is busy; try again")


ALICE = {"X-API-Key": "alice"}


async def echoes(ws: WebSocketConnector) -> str:
    """What /chat/ws/echo answers to "again", for alice: a stream slot of hers is free."""
    async with ws.connect("/chat/ws/echo", headers=ALICE) as session:
        await session.send_text("again")
        return await session.receive_text()


@pytest.mark.parametrize(
    ("path", "events", "code"),
    [
        ("/chat/ws/refuse", None, 4001),
        ("/events/ws", httpx.MockTransport(lambda request: httpx.Response(403)), 1008),
        ("/events/ws", failing(httpx.ConnectError("Connection refused")), 1011),
    ],
    ids=["closed-before-accept", "http-403", "unreachable"],
)
async def test_a_handshake_the_upstream_does_not_complete_gives_its_stream_slot_back(
    settings: Settings,
    upstreams: dict[str, httpx.AsyncBaseTransport],
    path: str,
    events: httpx.AsyncBaseTransport | None,
    code: int,
) -> None:
    """With a cap of one stream per client, a slot kept by a refused handshake would close
    that client's next WebSocket with 1013 until a restart."""
    if events is not None:
        upstreams["events.test"] = events
    app = create_app(settings.model_copy(update={"max_streams_per_client": 1}), transport=RoutingTransport(upstreams))
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        with pytest.raises(WebSocketDisconnect) as closed:
            async with ws.connect(path, headers=ALICE):
                pass  # pragma: no cover
        after = await echoes(ws)

    assert closed.value.code == code
    assert after == "chat: again"


async def test_a_client_gone_before_its_handshake_is_answered_gives_its_stream_slot_back(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """The client leaves while the gateway connects upstream: the accept it is sent then fails
    (ASGI spec 2.4: `send` raises OSError), and the gateway lets go of the upstream and its slot."""
    closes: list[int] = []
    upstreams["chat.test"] = ASGIWebSocketTransport(app=fake_upstream("chat", closes))
    app = create_app(settings.model_copy(update={"max_streams_per_client": 1}), transport=RoutingTransport(upstreams))
    messages: list[Message] = [{"type": "websocket.connect"}]

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1006}

    async def send(message: Message) -> None:
        raise OSError("the client is gone")

    async with lifespan_client(app) as client:
        scope = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": "/chat/ws/echo",
            "raw_path": b"/chat/ws/echo",
            "query_string": b"",
            "root_path": "",
            "headers": [(b"host", b"gateway.test"), (b"x-api-key", b"alice")],
            "client": ("127.0.0.1", 50000),
            "server": ("gateway.test", 80),
            "subprotocols": [],
            "state": dict(client.state),
        }
        async with asyncio.timeout(5):
            await app(scope, receive, send)  # returns: a client that left is no error

        async def upstream_let_go() -> bool:
            return closes == [1000]

        await eventually(upstream_let_go, message=f"upstream saw {closes}")
        after = await echoes(WebSocketConnector(app, state=client.state))

    assert after == "chat: again"
