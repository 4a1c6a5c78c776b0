"""Over real sockets: a stream passes through event by event, and no connection is leaked."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent
from httpx_sse import aconnect_sse

from fastapi_testkit import live_server
from gateway.app import create_app
from gateway.settings import Settings

pytestmark = [pytest.mark.sse, pytest.mark.proxy, pytest.mark.slow]


class Upstream:
    """An upstream under test control: an SSE stream that sends an event each time it is told
    to, and a route slower than the gateway's read timeout."""

    def __init__(self) -> None:
        self.release = asyncio.Queue[str]()
        self.streams_open = 0
        self.unblock = asyncio.Event()
        self.app = FastAPI()
        self.app.get("/stream", response_class=EventSourceResponse)(self.stream)
        self.app.get("/slow")(self.slow)
        self.app.get("/ok")(self.ok)
        self.app.get("/once", response_class=EventSourceResponse)(self.once)
        self.headers_seen: list[list[tuple[bytes, bytes]]] = []

    async def stream(self) -> AsyncIterator[ServerSentEvent]:
        self.streams_open += 1
        try:
            while True:
                yield ServerSentEvent(data=await self.release.get())
        finally:
            self.streams_open -= 1

    async def once(self, request: Request) -> AsyncIterator[ServerSentEvent]:
        """One event, then the end; the request's raw headers are kept in `headers_seen`."""
        self.headers_seen.append(request.scope["headers"])
        yield ServerSentEvent(data="once")

    async def slow(self) -> dict[str, str]:
        await self.unblock.wait()  # answers only once the test is over: the gateway must time out
        return {}

    async def ok(self) -> dict[str, str]:
        return {"status": "ok"}


SSE = {"Accept": "text/event-stream"}


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


async def test_an_sse_stream_arrives_event_by_event(settings: Settings, upstream: Upstream) -> None:
    """Each event is read through the gateway before the next is even produced, so nothing
    in between (gateway or client) can be buffering the stream whole."""
    async with live_server(upstream.app) as origin:
        gateway_app = create_app(settings.model_copy(update={"events_url": origin.url}))
        async with (
            live_server(gateway_app) as gateway,
            httpx.AsyncClient(base_url=gateway.url) as http,
            aconnect_sse(http, "GET", "/events/stream") as source,
        ):
            assert source.response.headers["content-type"].startswith("text/event-stream")
            events = source.aiter_sse()
            for text in ["first", "second", "third"]:
                await upstream.release.put(text)
                async with asyncio.timeout(5):
                    event = await anext(events)
                assert event.json() == text
                assert upstream.release.empty()


async def test_a_client_that_leaves_closes_the_upstream_stream(settings: Settings, upstream: Upstream) -> None:
    from fastapi_testkit import eventually

    async with live_server(upstream.app) as origin:
        gateway_app = create_app(settings.model_copy(update={"events_url": origin.url}))
        async with live_server(gateway_app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            async with aconnect_sse(http, "GET", "/events/stream") as source:
                await upstream.release.put("hello")
                async with asyncio.timeout(5):
                    assert (await anext(source.aiter_sse())).json() == "hello"
                assert upstream.streams_open == 1

            async def upstream_stream_closed() -> bool:
                return upstream.streams_open == 0

            await eventually(upstream_stream_closed, message="the upstream stream stayed open")


async def test_timeouts_and_errors_leak_no_pooled_connection(settings: Settings, upstream: Upstream) -> None:
    """With a pool of one connection, a leaked connection would make the next request wait for
    the pool and fail; instead every request after a timeout still gets through."""
    async with live_server(upstream.app) as origin:
        tight = settings.model_copy(update={"articles_url": origin.url, "max_connections": 1, "read_timeout": 0.2})
        gateway_app = create_app(tight)
        async with live_server(gateway_app) as gateway, httpx.AsyncClient(base_url=gateway.url, timeout=5) as http:
            answers = []
            for path in ["/slow", "/ok", "/slow", "/ok", "/missing", "/ok"]:
                answers.append((await http.get(f"/articles{path}")).status_code)
            upstream.unblock.set()  # let the abandoned /slow handlers finish, so shutdown is quick

    assert answers == [504, 200, 504, 200, 404, 200]


async def test_a_refused_connection_is_502_over_real_sockets(settings: Settings) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    gateway_app = create_app(settings.model_copy(update={"processing_url": closed}))

    async with live_server(gateway_app) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
        response = await http.get("/processing/api/articles/1")

    assert response.status_code == 502, response.text
    assert response.json()["service"] == "processing"


async def test_a_quiet_stream_outlives_the_plain_read_timeout(settings: Settings, upstream: Upstream) -> None:
    """Read with `read_timeout` (30 s by default, 0.2 s here), a stream silent longer is cut by
    httpx.ReadTimeout inside the response; streams read with `stream_read_timeout` (none)."""
    async with live_server(upstream.app) as origin:
        tight = settings.model_copy(update={"events_url": origin.url, "read_timeout": 0.2})
        async with (
            live_server(create_app(tight)) as gateway,
            httpx.AsyncClient(base_url=gateway.url) as http,
            aconnect_sse(http, "GET", "/events/stream") as source,
        ):
            events = source.aiter_sse()
            await asyncio.sleep(0.6)  # the silence under test, three read timeouts long
            await upstream.release.put("still here")
            async with asyncio.timeout(5):
                assert (await anext(events)).json() == "still here"


async def test_open_streams_leave_plain_requests_their_pool(settings: Settings, upstream: Upstream) -> None:
    """Streams have caps (per client: 429 with Retry-After; in total: 503), checked at once, and a
    pool of their own: with the plain pool at one connection, a plain request still answers."""
    async with live_server(upstream.app) as origin:
        capped = settings.model_copy(
            update={"events_url": origin.url, "max_connections": 1, "max_streams": 3, "max_streams_per_client": 2}
        )
        async with (
            live_server(create_app(capped)) as gateway,
            httpx.AsyncClient(base_url=gateway.url, timeout=5) as http,
            aconnect_sse(http, "GET", "/events/stream", headers={"X-API-Key": "alice"}),
            aconnect_sse(http, "GET", "/events/stream", headers={"X-API-Key": "alice"}),
        ):
            async with asyncio.timeout(10):
                over_client = await http.get("/events/stream", headers={"X-API-Key": "alice"} | SSE)
            async with aconnect_sse(http, "GET", "/events/stream", headers={"X-API-Key": "bob"}):
                async with asyncio.timeout(10):
                    over_total = await http.get("/events/stream", headers={"X-API-Key": "bob"} | SSE)
                    plain = await http.get("/articles/health")

    assert over_client.status_code == 429, over_client.text
    assert over_client.headers["Retry-After"] == "5"
    assert over_total.status_code == 503, over_total.text
    assert plain.status_code in (200, 502), plain.text  # answered at once; articles is not running


async def test_streams_with_header_bytes_that_are_not_ascii_pass_and_give_their_slot_back(
    settings: Settings, upstream: Upstream
) -> None:
    """A real client sends header bytes as they are. Decoded as text, such a stream is a 500
    that keeps its slot: past the per-client cap, that client gets 429 for every stream until a
    restart. Each stream
    here ends (one event), and its slot with it, before its client sees the end."""
    not_ascii = b"caf\xe9"
    sent = {b"user-agent": not_ascii, b"authorization": b"Bearer " + not_ascii, b"last-event-id": not_ascii}
    async with live_server(upstream.app) as origin:
        capped = settings.model_copy(update={"events_url": origin.url, "max_streams_per_client": 2})
        async with live_server(create_app(capped)) as gateway, httpx.AsyncClient(base_url=gateway.url) as http:
            answers = [
                await http.get("/events/once", headers={b"accept": b"text/event-stream"} | sent) for _ in range(3)
            ]
            after = await http.get("/events/once", headers=SSE)

    assert [(answer.status_code, answer.text.strip()) for answer in answers] == [(200, 'data: "once"')] * 3
    assert after.status_code == 200, after.text
    for seen in upstream.headers_seen[:3]:
        assert {name: value for name, value in seen if name in sent} == sent
