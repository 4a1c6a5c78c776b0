"""Redis drops the service's connections in the middle of a stream (real backend only).

The topic's reader (hub.py) blocks in XREAD on one connection, publishes go through others; a
restart, a failover or `CLIENT KILL` closes them all at once. An SSE client that reconnects with
Last-Event-ID, as EventSource does, must lose nothing (docs/events.md, "When Redis drops the connections").
"""

import httpx
import pytest
from httpx_sse import ServerSentEvent

from fastapi_testkit.faults import kill_redis_clients
from fastapi_testkit.sse import EventStream, sse_stream

from .helpers import publish

pytestmark = [pytest.mark.sse, pytest.mark.real_only(reason="kills connections on the real Redis server")]

STREAM = "/api/topics/news/stream"


async def _until_count_or_end(stream: EventStream, count: int) -> list[ServerSentEvent]:
    """Up to `count` events; fewer if the server ends the stream first."""
    events: list[ServerSentEvent] = []
    while len(events) < count:
        try:
            events.append(await stream.next_event())
        except AssertionError:
            if not stream.ended:
                raise
            break
    return events


async def test_a_client_that_resumes_with_last_event_id_loses_nothing_when_redis_drops_the_connections(
    http: httpx.AsyncClient, redis_url: str
) -> None:
    async with sse_stream(http, STREAM) as stream:
        ids = [await publish(http, "news", i) for i in range(3)]
        received = await stream.take(3)

        assert await kill_redis_clients(redis_url, "events") >= 2  # the reader's and the publisher's

        ids += [await publish(http, "news", i) for i in range(3, 6)]
        # The reader may carry on over a new connection, or end the stream (hub.py): either way,
        # what follows is what a client does.
        received += await _until_count_or_end(stream, 3)
    if len(received) < 6:
        async with sse_stream(http, STREAM, headers={"Last-Event-ID": received[-1].id}) as resumed:
            received += await resumed.take(6 - len(received))

    assert [(event.id, event.data) for event in received] == [(event_id, str(i)) for i, event_id in enumerate(ids)]
