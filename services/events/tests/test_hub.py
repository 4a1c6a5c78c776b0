"""One reader per topic (hub.py): many streams share it, a slow one is dropped, joins have no gap.

A topic's first stream starts the topic's reader and the others share it, so Redis connections
grow with topics, not subscribers (an XREAD BLOCK per stream would hold one per subscriber).
"""

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager

import httpx
import pytest

from events.app import create_app, redis_options
from events.hub import Subscriber, TopicHub
from events.redis_client import open_redis
from events.settings import Settings
from events.storage import StoredEvent, TopicStreams
from fastapi_testkit import eventually, live_server
from fastapi_testkit.sse import sse_stream

from .helpers import blocked_xreads, connections_in_use, order, publish, served_state

pytestmark = pytest.mark.sse

STREAM = "/api/topics/{}/stream"


@pytest.fixture
async def streams(redis_url: str | None) -> AsyncIterator[TopicStreams]:
    """The service's storage on the test's Redis, without the HTTP layer."""
    redis = await open_redis(redis_url, **redis_options(Settings(redis_url=redis_url)))
    try:
        yield TopicStreams(redis, max_length=1000)
    finally:
        await redis.aclose()


@asynccontextmanager
async def running(streams: TopicStreams, *, buffer: int) -> AsyncIterator[TopicHub]:
    hub = TopicHub(streams, block=5, buffer=buffer, replay_slots=2)
    try:
        yield hub
    finally:
        await hub.aclose()


async def take(subscriber: Subscriber, count: int) -> list[StoredEvent]:
    """The next `count` events (keep-alives skipped), within a deadline."""
    got: list[StoredEvent] = []
    async with asyncio.timeout(5), aclosing(subscriber.events(0.05)) as events:
        async for event in events:
            if event is not None:
                got.append(event)
                if len(got) == count:
                    break
    return got


async def remaining(subscriber: Subscriber) -> list[StoredEvent]:
    """What the subscriber sends until it ends, within a deadline."""
    async with asyncio.timeout(5), aclosing(subscriber.events(0.05)) as events:
        return [event async for event in events if event is not None]


async def test_many_streams_of_a_topic_share_one_reader_and_one_redis_connection(redis_url: str | None) -> None:
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60))
    async with (
        live_server(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=5) as http,
        AsyncExitStack() as stack,
    ):
        state = served_state(server)
        crowd = [await stack.enter_async_context(sse_stream(http, STREAM.format("crowd"))) for _ in range(30)]
        other = [await stack.enter_async_context(sse_stream(http, STREAM.format("other"))) for _ in range(5)]

        async def two_readers() -> bool:
            assert (state["hub"].readers(), state["hub"].attached("crowd"), state["hub"].attached("other")) == (
                2,
                30,
                5,
            )
            assert connections_in_use(state["streams"].redis) == 2  # one blocked XREAD per topic
            return True

        await eventually(two_readers, timeout=3)
        event_id = await publish(http, "crowd", "to all")
        received = await asyncio.gather(*(stream.next_event() for stream in crowd))
        assert {(e.id, e.data) for e in received} == {(event_id, '"to all"')}
        assert [s.received for s in other] == [[]] * 5


@pytest.mark.real_only(reason="counts the clients a real Redis server sees (CLIENT LIST)")
async def test_a_real_redis_sees_one_blocked_client_per_topic_not_per_stream(redis_url: str) -> None:
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60))
    async with (
        live_server(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=5) as http,
        AsyncExitStack() as stack,
    ):
        for topic, count in (("crowd", 40), ("other", 3)):
            for _ in range(count):
                await stack.enter_async_context(sse_stream(http, STREAM.format(topic)))
        assert served_state(server)["subscribers"].count() == 43

        async def one_per_topic() -> bool:
            assert await blocked_xreads(redis_url) == 2
            return True

        await eventually(one_per_topic, timeout=3, message="43 streams on 2 topics")


async def test_a_slow_subscriber_is_dropped_and_resumes_without_loss_while_others_keep_receiving(
    streams: TopicStreams,
) -> None:
    first = await streams.publish("news", "e", "0")
    async with running(streams, buffer=3) as hub:
        with hub.subscribe("news", first) as fast, hub.subscribe("news", first) as slow:
            await eventually(lambda: _started(hub, "news"), timeout=3)
            ids: list[str] = []
            for i in range(1, 11):
                # The fast one reads each as it comes; the slow one reads nothing.
                ids.append(await streams.publish("news", "e", str(i)))
                assert [e.id for e in await take(fast, 1)] == ids[-1:]
            # Past 3 queued events the slow one was dropped; the fast one never was.
            assert (slow.dropped, fast.dropped, hub.attached("news")) == (True, False, 1)
            held = await remaining(slow)  # what it held: sent, then its stream ends

        assert [e.id for e in held] == ids[:3]
        # Its client resumes with the last id it got, and misses nothing.
        with hub.subscribe("news", held[-1].id) as resumed:
            assert [e.id for e in await take(resumed, 7)] == ids[3:]


async def _started(hub: TopicHub, topic: str) -> bool:
    return hub.readers() == 1 and hub._readers[topic].cursor is not None


async def test_a_join_while_events_flow_has_no_gap_and_no_duplicate(streams: TopicStreams) -> None:
    """Subscribers join at every point of a stream being written: each gets exactly what follows its start."""
    ids = [await streams.publish("flow", "e", str(i)) for i in range(5)]
    async with running(streams, buffer=1000) as hub:
        await _join_while_events_flow(hub, ids)


async def _join_while_events_flow(hub: TopicHub, ids: list[str]) -> None:
    with hub.subscribe("flow", ids[-1]) as watcher:  # keeps the reader running throughout
        await eventually(lambda: _started(hub, "flow"), timeout=3)
        for i in range(5, 25):
            ids.append(await hub.streams.publish("flow", "e", str(i)))
            # Starts older than the reader's cursor (a replay), at it, and newer than what it read yet.
            for start in (ids[0], ids[i - 3], ids[-1]):
                with hub.subscribe("flow", start) as joined:
                    later = await hub.streams.publish("flow", "e", f"after {i}")
                    expected = [*ids[ids.index(start) + 1 :], later]
                    got = await take(joined, len(expected))
                    assert [e.id for e in got] == expected, f"joined after {start}"
                ids.append(later)
        seen = await remaining_now(watcher)
    # The one that stayed saw every event once, in (ms, seq) order.
    assert [order(e.id) for e in seen] == sorted({order(i) for i in ids[5:]})


async def remaining_now(subscriber: Subscriber) -> list[StoredEvent]:
    subscriber.end()
    return await remaining(subscriber)


async def test_a_stream_that_falls_behind_over_a_real_socket_ends_and_resumes_with_last_event_id(
    redis_url: str | None,
) -> None:
    """The same through the service: a client that stops reading, while another reads on.

    The slow client's socket has a small receive buffer, so the server's writes back up after a
    few events and its generator stops taking them: the hub drops it past 2 queued events.
    """
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60, subscriber_buffer=2))
    data = "x" * 32_000  # large events: the sockets' buffers fill after a few
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        hub = served_state(server)["hub"]
        async with sse_stream(http, STREAM.format("big")) as fast:
            slow = await _raw_stream(server.url, STREAM.format("big"))
            await eventually(lambda: _started_with(hub, "big", 2), timeout=3)

            ids: list[str] = []
            while hub.attached("big") == 2:
                assert len(ids) < 200, "the slow stream was never dropped"
                ids.append(await publish(http, "big", data))
                assert (await fast.next_event()).id == ids[-1]  # the reader keeps up meanwhile

            # The slow client now reads what it was sent: up to where it was dropped, then the end.
            with slow:
                raw = await _read_to_end(slow)
            got = re.findall(r"^id: (\S+)$", raw, flags=re.MULTILINE)
            assert len(got) < len(ids)  # dropped before the end
            assert got == ids[: len(got)]  # in order, none missing, up to where it was dropped

            # It resumes, as an EventSource does, and gets the rest, then what comes next.
            async with sse_stream(http, STREAM.format("big"), headers={"Last-Event-ID": got[-1]}) as resumed:
                rest = await resumed.take(len(ids) - len(got))
                assert [e.id for e in rest] == ids[len(got) :]


async def _started_with(hub: TopicHub, topic: str, attached: int) -> bool:
    return await _started(hub, topic) and hub.attached(topic) == attached


async def _raw_stream(base_url: str, path: str) -> socket.socket:
    """A stream request from a socket with a small receive buffer; nothing reads its response yet."""
    host, port = base_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connecting: the window stays small
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, (host, int(port)))
    await loop.sock_sendall(sock, f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    return sock


async def _read_to_end(sock: socket.socket) -> str:
    """Everything the server sends until its chunked response ends."""
    loop, raw = asyncio.get_running_loop(), b""
    async with asyncio.timeout(10):
        while not raw.endswith(b"\r\n0\r\n\r\n"):
            chunk = await loop.sock_recv(sock, 2**16)
            assert chunk, f"the connection closed before the response ended: {raw[-200:]!r}"
            raw += chunk
    return raw.decode()


# What one read takes at most: a replay page (XRANGE) and the reader's XREAD (storage.py).
PAGE = 100


async def test_a_replay_longer_than_a_page_delivers_each_page_once_then_live_events(redis_url: str | None) -> None:
    """A resume from the start reads page after page: after a full page the next, not the same again, nor nothing."""
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60, stream_max_length=1000))
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        ids = [await publish(http, "long", i) for i in range(PAGE * 2 + 1)]
        async with sse_stream(http, STREAM.format("long"), headers={"Last-Event-ID": "0-0"}) as stream:
            replayed = await stream.take(len(ids))
            live = await publish(http, "long", "live")
            after = await stream.next_event()

    assert [e.id for e in replayed] == ids
    assert after.id == live


async def test_the_reader_carries_on_past_a_full_read(redis_url: str | None) -> None:
    """More events than one XREAD takes, published while a stream is open: the reader's cursor
    moves on with each read, so it reaches the last; a reader that read from the same place again
    would hand out the same events (which the stream drops as sent) and never the next."""
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60, stream_max_length=1000))
    async with (
        live_server(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=5) as http,
        sse_stream(http, STREAM.format("many")) as stream,
    ):
        ids = [await publish(http, "many", i) for i in range(PAGE + 20)]
        got = await stream.take(len(ids))

    assert [e.id for e in got] == ids


async def test_a_burst_of_new_streams_opens_no_more_connections_than_its_lookup_turns(redis_url: str | None) -> None:
    """Each new stream asks Redis where its topic ends; 40 at once took 40 pooled connections."""
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60, replay_slots=3))
    release = asyncio.Event()
    unlimited = httpx.Limits(max_connections=None)
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=10, limits=unlimited) as http:
        state = served_state(server)

        async def hold_a_stream() -> None:
            async with sse_stream(http, STREAM.format("burst")):
                await release.wait()

        holders = [asyncio.create_task(hold_a_stream()) for _ in range(40)]

        async def all_open() -> bool:
            assert state["subscribers"].count() == 40
            return True

        await eventually(all_open, timeout=10, message="40 streams opened at once")
        pool = state["streams"].redis.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)
        release.set()
        await asyncio.gather(*holders)

    assert opened <= 1 + 3, opened  # the topic's reader, and the 3 lookup turns
