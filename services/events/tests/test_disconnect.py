"""A client that goes away: the server's generator ends and leaves nothing behind.

When the client closes the connection, uvicorn tells the app (`http.disconnect`), Starlette
stops sending, and FastAPI cancels the task running the route's generator. The generator is
blocked in XREAD at that moment; redis-py then drops that connection, and the subscription
dependency's clean-up takes the stream off the count. This test proves each of those, within
a deadline, over a real socket: through ASGITransport the disconnect never happens.
"""

import asyncio

import httpx
import pytest

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import Backend, eventually, live_server
from fastapi_testkit.sse import sse_stream

from .helpers import blocked_xreads, connections_in_use, publish, served_state

pytestmark = pytest.mark.sse


async def test_a_client_that_goes_away_leaves_no_subscriber_task_or_redis_connection(
    redis_url: str | None, backend: Backend
) -> None:
    # A keep-alive far longer than the test: the clean-up cannot come from the server's next
    # write failing, only from the server noticing the disconnect at once.
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=60))
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url) as http:
        state = served_state(server)
        redis = state["streams"].redis
        tasks_before = asyncio.all_tasks()

        async with sse_stream(http, "/api/topics/news/stream") as stream:
            await publish(http, "news", 1)
            await stream.next_event()

            async def streaming() -> bool:
                assert state["subscribers"].count("news") == 1
                assert state["hub"].readers() == 1  # the topic's reader (hub.py)
                assert connections_in_use(redis) == 1  # the XREAD waiting for the next event
                if backend is Backend.REAL:
                    assert redis_url is not None
                    assert await blocked_xreads(redis_url) == 1
                return True

            await eventually(streaming, timeout=2)

        async def nothing_left() -> bool:
            assert state["subscribers"].count() == 0
            assert state["hub"].readers() == 0  # the last stream out stopped the reader
            assert connections_in_use(redis) == 0
            # Also fakeredis' server side of the XREAD: redis_client.py ends it with the connection.
            left = asyncio.all_tasks() - tasks_before - {asyncio.current_task()}
            assert not left, f"tasks still running: {[t.get_coro() for t in left]}"
            if backend is Backend.REAL:
                assert redis_url is not None
                assert await blocked_xreads(redis_url) == 0  # the server side of the connection is gone too
            return True

        await eventually(nothing_left, timeout=2, message="the stream's resources outlived its client")
