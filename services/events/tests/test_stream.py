"""The live topic stream, `GET /api/topics/{topic}/stream`, read over a real socket.

The stream never ends, so it is read from the app under uvicorn (the kit's `live_server`),
never through httpx's ASGITransport, which returns a response only once it is complete and
would wait forever. The kit's `sse_stream` parses with httpx-sse and gives every read a
deadline, so a missing event fails the test instead of hanging it.

A finite stream needs none of this: examples/server_sent_events/ at the repository root reads
one through ASGITransport, resume by Last-Event-ID included, with no test kit.
"""

import asyncio
import json
import logging
from contextlib import AsyncExitStack
from typing import Any
from unittest.mock import AsyncMock, patch

import httpx
import pytest
from fakeredis import FakeAsyncRedis, FakeServer

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import LiveServer, live_server
from fastapi_testkit.sse import sse_stream

from .helpers import order, publish, served_state, subscribers

pytestmark = pytest.mark.sse

STREAM = "/api/topics/{}/stream"


async def test_events_arrive_one_by_one_as_they_are_published(http: httpx.AsyncClient) -> None:
    async with sse_stream(http, STREAM.format("news")) as stream:
        for i in range(3):
            # Each event is read before the next is published: the stream delivers
            # incrementally, not in one piece at the end.
            event_id = await publish(http, "news", {"n": i}, event="headline")
            event = await stream.next_event()

            assert (event.id, event.event, json.loads(event.data)) == (event_id, "headline", {"n": i})
        first, second, third = (order(event.id) for event in stream.received)
        assert first < second < third


async def test_every_subscriber_gets_every_event_in_publish_order(http: httpx.AsyncClient) -> None:
    async with AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(sse_stream(http, STREAM.format("news"))) for _ in range(6)]
        # Each stream counts once its response has started, so none can miss what follows.
        assert await subscribers(http, "news") == 6

        ids = [await publish(http, "news", i) for i in range(5)]
        received = await asyncio.gather(*(stream.take(5) for stream in streams))

    for events in received:
        assert [(e.id, e.data) for e in events] == [(event_id, str(i)) for i, event_id in enumerate(ids)]


async def test_a_client_that_reconnects_with_last_event_id_gets_exactly_what_it_missed(
    http: httpx.AsyncClient,
) -> None:
    async with sse_stream(http, STREAM.format("news")) as stream:
        for i in range(2):
            await publish(http, "news", i)
        seen = await stream.take(2)
    missed = [await publish(http, "news", i) for i in range(2, 5)]

    # What a browser's EventSource sends when it reconnects: the id of the last event it got.
    async with sse_stream(http, STREAM.format("news"), headers={"Last-Event-ID": seen[-1].id}) as stream:
        replayed = await stream.take(3)
        live = await publish(http, "news", 5)
        after = await stream.next_event()

    assert [(e.id, e.data) for e in replayed] == [
        (event_id, str(i)) for i, event_id in zip(range(2, 5), missed, strict=True)
    ]
    assert (after.id, after.data) == (live, "5")  # then live events, nothing replayed twice


async def test_the_last_event_id_query_parameter_resumes_too(http: httpx.AsyncClient) -> None:
    """For a first connection from a browser, whose EventSource cannot set headers."""
    first, second = [await publish(http, "news", i) for i in range(2)]

    async with sse_stream(http, STREAM.format("news"), params={"last_event_id": first}) as stream:
        event = await stream.next_event()

    assert (event.id, event.data) == (second, "1")


async def test_the_header_wins_over_the_query_parameter(http: httpx.AsyncClient) -> None:
    """A browser that reconnects keeps its URL; its header carries the newer position."""
    first, second, third = [await publish(http, "news", i) for i in range(3)]

    async with sse_stream(
        http, STREAM.format("news"), params={"last_event_id": first}, headers={"Last-Event-ID": second}
    ) as stream:
        event = await stream.next_event()

    assert event.id == third


@pytest.mark.parametrize("reading", [False, True], ids=["no reader yet", "reader running"])
@pytest.mark.parametrize("where", ["header", "query"])
async def test_a_last_event_id_beyond_the_newest_event_starts_from_now(
    http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, where: str, reading: bool
) -> None:
    """From a client whose server's clock ran ahead: taken as it is, every event up to that id
    would count as sent, a silent stream. A refusal would be final for an EventSource."""
    ahead = "9999999999999-0"
    request: dict[str, Any] = {"headers": {"Last-Event-ID": ahead}} if where == "header" else {}
    request |= {"params": {"last_event_id": ahead}} if where == "query" else {}
    await publish(http, "news", "before")
    async with AsyncExitStack() as stack:
        if reading:  # the topic's reader is running, its cursor before the id
            await stack.enter_async_context(sse_stream(http, STREAM.format("news")))
        with caplog.at_level(logging.WARNING, logger="events"):
            stream = await stack.enter_async_context(sse_stream(http, STREAM.format("news"), **request))
        event_id = await publish(http, "news", "next")
        event = await stream.next_event()

    assert (event.id, event.data) == (event_id, '"next"')
    assert [r.levelname for r in caplog.records if ahead in r.getMessage()] == ["WARNING"]


async def test_ids_are_ordered_as_numbers_not_as_text(live_server: LiveServer, http: httpx.AsyncClient) -> None:
    """`5-10` comes after `5-9`, though as text it sorts before: a stream started at `5-9` gets
    `5-10` live, and one resumed from `5-9` gets it replayed."""
    redis = served_state(live_server)["streams"].redis  # ids of our choosing: only XADD can set them
    await redis.xadd("events:news", {"event": "e", "data": "9"}, id="5-9")
    async with sse_stream(http, STREAM.format("news")) as live:
        await redis.xadd("events:news", {"event": "e", "data": "10"}, id="5-10")
        received = await live.next_event()
    async with sse_stream(http, STREAM.format("news"), headers={"Last-Event-ID": "5-9"}) as resumed:
        replayed = await resumed.next_event()

    assert [(e.id, e.data) for e in (received, replayed)] == [("5-10", "10"), ("5-10", "10")]


async def test_an_unknown_topic_streams_nothing_until_something_is_published(http: httpx.AsyncClient) -> None:
    async with sse_stream(http, STREAM.format("nobody-published-here")) as stream:
        info = (await http.get("/api/topics/nobody-published-here")).json()
        assert info == {"topic": "nobody-published-here", "length": 0, "last_event_id": None, "subscribers": 1}

        event_id = await publish(http, "nobody-published-here", "first")
        event = await stream.next_event()

    # The first event of the stream is the one published: nothing, not an error, came before it.
    assert (event.id, event.data) == (event_id, '"first"')


async def test_topics_are_separate(http: httpx.AsyncClient) -> None:
    async with sse_stream(http, STREAM.format("a")) as a, sse_stream(http, STREAM.format("b")) as b:
        await publish(http, "a", "for a")
        await publish(http, "b", "for b")

        assert (await a.next_event()).data == '"for a"'
        assert (await b.next_event()).data == '"for b"'


@pytest.mark.parametrize(
    "data",
    [None, 0, -1.5, True, "two\nlines", "caf\u00e9 \u2028 \U0001f600", [1, [2, {}]], {"nested": {"list": [None]}}],
    ids=repr,
)
async def test_any_json_value_arrives_as_it_was_published(http: httpx.AsyncClient, data: Any) -> None:
    # Newlines inside strings are escaped by the JSON, so every event is a single `data:` line.
    async with sse_stream(http, STREAM.format("news")) as stream:
        await publish(http, "news", data)
        event = await stream.next_event()

    assert json.loads(event.data) == data


async def test_a_topic_keeps_only_its_newest_events(redis_url: str | None) -> None:
    app = create_app(Settings(redis_url=redis_url, stream_max_length=3, keepalive_interval=0.05))
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url) as http:
        ids = [await publish(http, "news", i) for i in range(5)]
        info = (await http.get("/api/topics/news")).json()

        # A client that saw nothing replays from the start: what is left after the cap.
        async with sse_stream(http, STREAM.format("news"), params={"last_event_id": "0-0"}) as stream:
            replayed = await stream.take(3)

    assert (info["length"], info["last_event_id"]) == (3, ids[-1])
    assert [e.id for e in replayed] == ids[2:]


async def test_while_redis_is_down_publishing_is_a_503_and_a_resumed_stream_ends_cleanly() -> None:
    # Redis answered at startup (an unreachable one fails it: test_health.py), then went away:
    # a fakeredis server marked disconnected fails every command with a ConnectionError.
    down = FakeServer()
    down.connected = False
    redis = FakeAsyncRedis(server=down, decode_responses=True)
    app = create_app(Settings(redis_url=None, keepalive_interval=0.05))
    with patch("events.app.open_redis", new=AsyncMock(return_value=redis)):
        async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=10) as http:
            published = await http.post("/api/topics/news/events", json={"event": "e", "data": 1})
            # A new stream must ask Redis where the topic ends first: refused before it starts.
            opened = await http.get(STREAM.format("news"))
            # A resumed one starts streaming, then ends without an error, as an EventSource expects
            # of a server that cannot go on: it reconnects later, with its Last-Event-ID.
            async with sse_stream(http, STREAM.format("news"), headers={"Last-Event-ID": "1-0"}) as stream:
                events = await stream.remaining()

    for response in (published, opened):
        assert response.status_code == 503, response.text
        assert response.json() == {"detail": "The event store is unavailable; try again later"}
    assert events == []


@pytest.mark.slow
async def test_more_streams_than_redis_pys_default_pool_can_be_open_at_once(redis_url: str | None) -> None:
    """Each waiting stream holds a Redis connection; redis-py 8 caps a pool at 100 by default,
    which refused the 101st subscriber with a 503 until the pool size became a setting."""
    count = 120
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=5))
    limits = httpx.Limits(max_connections=None)  # httpx's own pool also stops at 100
    async with (
        live_server(app) as server,
        httpx.AsyncClient(base_url=server.url, limits=limits, timeout=10) as http,
        AsyncExitStack() as stack,
    ):
        streams = [await stack.enter_async_context(sse_stream(http, STREAM.format("crowd"))) for _ in range(count)]
        assert await subscribers(http, "crowd") == count

        event_id = await publish(http, "crowd", "to all")
        received = await asyncio.gather(*(stream.next_event() for stream in streams))

    assert {(e.id, e.data) for e in received} == {(event_id, '"to all"')}
