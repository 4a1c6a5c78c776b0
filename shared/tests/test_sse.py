"""The SSE helpers: events parsed by httpx-sse, every read with a deadline, clear failures."""

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.sse import EventSourceResponse, ServerSentEvent
from fastapi.testclient import TestClient

from fastapi_testkit import lifespan_client, live_server
from fastapi_testkit.sse import sse_stream, sse_stream_sync
from fastapi_testkit.timeouts import ReceiveTimeout

pytestmark = pytest.mark.sse


def make_app(feed: "asyncio.Queue[str] | None" = None) -> FastAPI:
    """Streams of each kind a test meets; `/fed` sends what the test puts into `feed`."""
    app = FastAPI()

    @app.get("/finite", response_class=EventSourceResponse)
    async def finite() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(raw_data="one", id="1", event="count")
        # After an id, httpx-sse turns a comment into an empty event; the kit drops it.
        yield ServerSentEvent(comment="ping")
        yield ServerSentEvent(raw_data="two", id="2", event="count")

    @app.get("/endless", response_class=EventSourceResponse)
    async def endless() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(raw_data="first")
        await asyncio.Event().wait()  # then nothing, until the client goes away
        yield ServerSentEvent(raw_data="never")  # pragma: no cover

    @app.get("/fed", response_class=EventSourceResponse)
    async def fed() -> AsyncIterator[ServerSentEvent]:
        assert feed is not None
        while True:
            yield ServerSentEvent(raw_data=await feed.get())

    @app.get("/json")
    async def json() -> dict[str, str]:
        return {"not": "a stream"}

    return app


@pytest.fixture
def feed() -> "asyncio.Queue[str]":
    return asyncio.Queue()


@pytest.fixture
async def http(feed: "asyncio.Queue[str]") -> AsyncIterator[httpx.AsyncClient]:
    """A real client of the app under a live server (an endless stream needs one)."""
    async with live_server(make_app(feed)) as server, httpx.AsyncClient(base_url=server.url) as client:
        yield client


@pytest.fixture
def test_client() -> Iterator[TestClient]:
    with TestClient(make_app()) as client:
        yield client


async def test_a_finite_stream_is_read_to_its_end_in_process() -> None:
    async with lifespan_client(make_app()) as client, sse_stream(client, "/finite") as stream:
        events = await stream.remaining()

        assert [(e.event, e.data, e.id) for e in events] == [("count", "one", "1"), ("count", "two", "2")]
        assert stream.received == events
        assert stream.ended
        with pytest.raises(AssertionError, match="ended before the next event"):
            await stream.next_event()


async def test_an_endless_stream_is_read_event_by_event(http: httpx.AsyncClient, feed: "asyncio.Queue[str]") -> None:
    async with sse_stream(http, "/fed") as stream:
        for text in ("a", "b"):
            feed.put_nowait(text)
        assert [e.data for e in await stream.take(2)] == ["a", "b"]


async def test_a_read_that_timed_out_leaves_the_stream_readable(
    http: httpx.AsyncClient, feed: "asyncio.Queue[str]"
) -> None:
    async with sse_stream(http, "/fed", timeout=2) as stream:
        # The WebSocket helpers' exception and message shape (test_websocket's twin).
        with pytest.raises(ReceiveTimeout, match=r"^no event within 0.05s from GET /fed; received: \[\]$") as raised:
            await stream.next_event(timeout=0.05)
        assert isinstance(raised.value, TimeoutError)
        feed.put_nowait("late")
        assert (await stream.next_event()).data == "late"


async def test_remaining_fails_on_a_stream_that_does_not_end(http: httpx.AsyncClient) -> None:
    async with sse_stream(http, "/endless") as stream:
        with pytest.raises(AssertionError, match=r"no event within 0.2s .*data='first'"):
            await stream.remaining(timeout=0.2)


async def test_an_error_while_reading_reaches_the_test() -> None:
    async def cut_off(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A server that sends one event, then drops the connection in the middle of the body."""
        await reader.readuntil(b"\r\n\r\n")
        body = b"data: before\n\n"
        head = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        writer.write(head + b"%x\r\n%s\r\n" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut_off, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, httpx.AsyncClient() as http, sse_stream(http, f"http://127.0.0.1:{port}/") as stream:
        assert (await stream.next_event()).data == "before"
        with pytest.raises(httpx.RemoteProtocolError):
            await stream.next_event()


async def test_an_endless_stream_over_the_in_process_transport_fails_with_a_hint() -> None:
    async with lifespan_client(make_app()) as client:
        with pytest.raises(ReceiveTimeout, match=r"never answers.*live_server"):
            async with sse_stream(client, "/endless", timeout=0.2):
                pass  # pragma: no cover


@pytest.mark.parametrize(
    ("path", "shown"), [("/json", r"200 'application/json' b'{\"not\":\"a stream\"}'"), ("/nowhere", "404")]
)
async def test_an_answer_that_is_not_an_event_stream_fails_with_its_body(path: str, shown: str) -> None:
    async with lifespan_client(make_app()) as client:
        with pytest.raises(AssertionError, match=f"GET {path} is not an event stream: {shown}"):
            async with sse_stream(client, path):
                pass  # pragma: no cover


async def test_the_callers_headers_are_sent_and_left_unchanged(http: httpx.AsyncClient) -> None:
    headers = {"X-Test": "1"}
    async with sse_stream(http, "/endless", headers=headers) as stream:
        assert stream.response.request.headers["X-Test"] == "1"
        assert stream.response.request.headers["Accept"] == "text/event-stream"
    assert headers == {"X-Test": "1"}


def test_a_finite_stream_is_read_with_test_client(test_client: TestClient) -> None:
    with sse_stream_sync(test_client, "/finite") as stream:
        assert [e.data for e in stream.take(2)] == ["one", "two"]
        for _ in range(2):  # the end, then a stream known to have ended
            with pytest.raises(AssertionError, match="ended before the next event"):
                stream.next_event()
        assert stream.ended


def test_remaining_reads_a_finite_stream_with_test_client(test_client: TestClient) -> None:
    with sse_stream_sync(test_client, "/finite") as stream:
        assert [e.data for e in stream.remaining()] == ["one", "two"]


def test_an_endless_stream_is_read_with_test_client_each_read_with_a_deadline(test_client: TestClient) -> None:
    with sse_stream_sync(test_client, "/endless", headers={"X-Test": "1"}) as stream:
        assert [e.data for e in stream.take(1)] == ["first"]
        with pytest.raises(AssertionError, match=r"no event within 0\.05s"):
            stream.next_event(timeout=0.05)
        with pytest.raises(AssertionError, match=r"no event within 0\.05s"):
            stream.remaining(timeout=0.05)
        assert stream.response.request.headers["X-Test"] == "1"


def test_a_sync_answer_that_is_not_an_event_stream_fails(test_client: TestClient) -> None:
    with (
        pytest.raises(AssertionError, match="GET /json is not an event stream: 200"),
        sse_stream_sync(test_client, "/json"),
    ):
        pass  # pragma: no cover


def test_a_sync_connection_error_is_raised() -> None:
    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with (
        httpx.Client() as client,
        pytest.raises(httpx.ConnectError),
        sse_stream_sync(client, f"http://127.0.0.1:{port}/"),
    ):
        pass  # pragma: no cover


def test_a_sync_server_that_never_answers_fails_within_the_deadline() -> None:
    # A listening socket that never accepts: the connection is made, the answer never comes.
    with socket.socket() as server, httpx.Client(timeout=None) as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        url = f"http://127.0.0.1:{server.getsockname()[1]}/"
        with (
            pytest.raises(ReceiveTimeout, match=re.escape(f"no response to GET {url} within 0.2s")),
            sse_stream_sync(client, url, timeout=0.2),
        ):
            pass  # pragma: no cover
    # Closing the socket resets the connection, which ends the reader thread.
