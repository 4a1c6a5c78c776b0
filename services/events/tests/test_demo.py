"""The article's finite SSE demo, `GET /api/events/{topic}`: five events, then the end.

A finite stream completes, so the in-process client (httpx's ASGITransport, which returns a
response only once it is complete) can read it whole. Endless streams cannot be read that
way: see test_stream.py.

The same test in its smallest form, the events parsed with httpx-sse and resumed by
Last-Event-ID, with no test kit: examples/server_sent_events/ at the repository root.
"""

import pytest

from fastapi_testkit import LifespanClient
from fastapi_testkit.sse import sse_stream

pytestmark = pytest.mark.sse

EXPECTED = [f"Event {i} for news" for i in range(5)]


async def test_the_articles_sse_test_corrected(client: LifespanClient) -> None:
    """The article's test, on today's client, asserting the whole stream instead of two substrings.

    `"Event 4 for news" in content` also passes for a stream that repeats, reorders or drops
    the events between; the exact body does not.
    """
    response = await client.get("/api/events/news", headers={"Accept": "text/event-stream"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text == "".join(f"data: {text}\n\n" for text in EXPECTED)


async def test_the_demo_read_with_the_kits_helper(client: LifespanClient) -> None:
    """The same through the kit: a 200 event stream is checked, and every read has a deadline."""
    async with sse_stream(client, "/api/events/sports") as stream:
        events = await stream.remaining()

    assert [event.data for event in events] == [f"Event {i} for sports" for i in range(5)]
