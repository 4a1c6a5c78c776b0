"""A stream's slot (and its upstream connection) is given back however the stream ends, even
when its client leaves before the first byte of the answer.

Driven at the ASGI level, as a server would: the client's `receive` reports `http.disconnect`
as soon as the request body has been read. Starlette's StreamingResponse takes that two ways,
by the server's ASGI spec version. Before 2.4 it listens for the disconnect beside the stream
and cancels the stream, here while its `send` of the response start waits (a socket write that
waits for a full buffer to drain). From 2.4 it relies on `send` failing, and the response
start's fails. Either way the relay's body is never iterated.

A client that leaves while the relay waits for the upstream cancels the relay there instead,
and its clean-up runs cancelled. A stream whose upstream fails before its headers (502, 504),
or that simply ends, gives its slot back too, checked through the client's next stream.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext
from typing import Any

import anyio
import httpx
import pytest
from fastapi import FastAPI
from starlette.requests import ClientDisconnect
from starlette.types import Message, Scope, Send

from fastapi_testkit import lifespan_client
from fastapi_testkit.routing import RoutingTransport
from gateway.app import create_app
from gateway.settings import Settings

pytestmark = [pytest.mark.sse, pytest.mark.proxy]

ALICE = {"X-API-Key": "alice", "Accept": "text/event-stream"}


class Silent(httpx.AsyncByteStream):
    """An event stream whose headers have been sent and whose first event never comes.
    `reading` is set once the gateway waits for that event, `closed` once it has closed the
    connection; closing has a checkpoint, as a socket's close does."""

    def __init__(self) -> None:
        self.reading, self.closed = asyncio.Event(), asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.reading.set()
        await self.closed.wait()
        yield b""  # pragma: no cover (the wait ends only with the connection)

    async def aclose(self) -> None:
        await anyio.lowlevel.checkpoint_if_cancelled()
        self.closed.set()


class Once(httpx.AsyncByteStream):
    """One event and the end, read as it comes (a `content=` answer is read already)."""

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"data: once\n\n"


class Upstream:
    """`/wait` answers with a Silent stream, any other path with one event and the end."""

    def __init__(self) -> None:
        self.silent = Silent()
        self.transport = httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, headers=headers, stream=self.silent if request.url.path == "/wait" else Once())


def stream_scope(path: str, spec_version: str, state: dict[str, Any]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": spec_version},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"gateway.test")] + [(k.lower().encode(), v.encode()) for k, v in ALICE.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("gateway.test", 80),
        "state": state,
    }


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


@pytest.fixture
def app(settings: Settings, upstream: Upstream) -> FastAPI:
    """A cap of one stream per client: a slot kept by a stream whose client left refuses that
    client every stream after it (429), until a restart."""
    capped = settings.model_copy(update={"max_streams_per_client": 1})
    return create_app(capped, transport=RoutingTransport({"events.test": upstream.transport}))


async def stream_then_another(
    app: FastAPI, spec_version: str, *, disconnect_after: asyncio.Event | None, send: Send
) -> httpx.Response:
    """A stream from /events/wait whose client leaves (its `receive` reports `http.disconnect`
    once the body is read, and `disconnect_after` is set), then the same client's next stream."""
    request: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if request:
            return request.pop(0)
        if disconnect_after is not None:
            await disconnect_after.wait()
        return {"type": "http.disconnect"}

    async with lifespan_client(app) as client:
        # From 2.4 Starlette raises ClientDisconnect out of the app, for the server to drop.
        gone = pytest.raises(ClientDisconnect) if spec_version >= "2.4" else nullcontext()
        with gone:
            async with asyncio.timeout(5):
                await app(stream_scope("/events/wait", spec_version, dict(client.state)), receive, send)
        return await client.get("/events/once", headers=ALICE)


@pytest.mark.parametrize("spec_version", ["2.3", "2.4"])
async def test_a_client_gone_before_the_first_event_gives_its_stream_slot_back(
    app: FastAPI, upstream: Upstream, spec_version: str
) -> None:
    async def send(message: Message) -> None:
        if spec_version >= "2.4":  # a server of that spec fails a send to a client that is gone
            raise OSError("the client is gone")
        await asyncio.Event().wait()  # the write waits for a buffer that never drains

    after = await stream_then_another(app, spec_version, disconnect_after=None, send=send)

    assert (after.status_code, after.text.strip()) == (200, "data: once"), after.text
    assert upstream.silent.closed.is_set()


async def test_a_client_gone_while_the_relay_waits_gives_its_stream_slot_back(app: FastAPI, upstream: Upstream) -> None:
    """Cancelled there, the relay's clean-up still closes the upstream and gives the slot back."""

    async def send(message: Message) -> None:
        pass

    after = await stream_then_another(app, "2.3", disconnect_after=upstream.silent.reading, send=send)

    assert (after.status_code, after.text.strip()) == (200, "data: once"), after.text
    assert upstream.silent.closed.is_set()


def first_fails_with(error: Exception | None) -> httpx.MockTransport:
    """`/first` fails with `error`, if any, before a header arrives; else, as any other path,
    it is one event and the end."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/first" and error is not None:
            raise error
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=Once())

    return httpx.MockTransport(handle)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (httpx.ConnectError("Connection refused"), 502),
        (httpx.ConnectTimeout("slow"), 504),
        (httpx.ReadTimeout("slow"), 504),
        (None, 200),
    ],
    ids=["refused", "connect-timeout", "read-timeout", "finished"],
)
async def test_a_stream_that_failed_or_finished_gives_its_slot_to_the_clients_next(
    settings: Settings, error: Exception | None, status: int
) -> None:
    """With a cap of one stream per client, a slot kept by a stream that is over (its upstream
    unreachable, silent before its headers, or done) refused that client every stream after it."""
    transport = first_fails_with(error)
    capped = settings.model_copy(update={"max_streams_per_client": 1})
    async with lifespan_client(create_app(capped, transport=RoutingTransport({"events.test": transport}))) as client:
        first = await client.get("/events/first", headers=ALICE)
        after = await client.get("/events/once", headers=ALICE)

    assert first.status_code == status, first.text
    assert (after.status_code, after.text.strip()) == (200, "data: once"), after.text
