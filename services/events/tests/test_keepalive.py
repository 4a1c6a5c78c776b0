"""Keep-alive comments: an idle stream sends `: keep-alive` every `keepalive_interval` seconds.

Proxies and browsers drop a connection that stays silent too long. A comment line keeps it
open, and clients ignore it: EventSource and httpx-sse dispatch no event for it. So these
tests read the response text itself, each read with a deadline, and set a short interval.
"""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import live_server
from fastapi_testkit.sse import sse_stream

from .helpers import publish

pytestmark = pytest.mark.sse

INTERVAL = 0.1


@pytest.fixture
async def http(redis_url: str | None) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(redis_url=redis_url, keepalive_interval=INTERVAL))
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as client:
        yield client


async def test_an_idle_stream_sends_keep_alive_comments_at_the_configured_interval(http: httpx.AsyncClient) -> None:
    text = ""
    async with http.stream("GET", "/api/topics/quiet/stream") as response:
        started = time.monotonic()
        async with asyncio.timeout(5):
            async for chunk in response.aiter_text():
                text += chunk
                if text.count("\n\n") == 3:
                    break
        elapsed = time.monotonic() - started

    # Comments only: an unknown topic sends nothing else, and no error.
    assert response.status_code == 200, response.text
    assert text == ": keep-alive\n\n" * 3
    # Each comes after an interval of silence, not sooner (the upper bound depends on the machine).
    assert elapsed >= 2.5 * INTERVAL


async def test_keep_alive_comments_are_not_events(http: httpx.AsyncClient) -> None:
    async with sse_stream(http, "/api/topics/quiet/stream") as stream:
        with pytest.raises(AssertionError, match="no event within"):
            await stream.next_event(timeout=3 * INTERVAL)  # the time of three keep-alives
        event_id = await publish(http, "quiet", "finally")
        assert (await stream.next_event()).id == event_id


async def test_httpx_sse_turns_a_keep_alive_after_an_id_into_an_empty_event(http: httpx.AsyncClient) -> None:
    """Why the kit's reader drops events without data (a browser would dispatch nothing here).

    httpx-sse 0.4 keeps the last `id:` and dispatches an event at every blank line once it has
    one, so each `: keep-alive` that follows an event comes out as an event with empty data.
    """
    event_id = await publish(http, "news", "one")
    async with (
        asyncio.timeout(5),
        aconnect_sse(http, "GET", "/api/topics/news/stream", params={"last_event_id": "0-0"}) as source,
    ):
        events = source.aiter_sse()
        real = await anext(events)
        after = await anext(events)  # the next thing on the wire is a keep-alive comment
        await events.aclose()

    assert (real.id, real.data) == (event_id, '"one"')
    assert (after.id, after.data) == (event_id, "")
