"""The stream is finite, so httpx's ASGITransport can read it: the transport returns a response
only once the app has sent all of it. An endless stream (a live topic) would hang the test right
there; test one against a real server, as services/events/tests/test_stream.py does."""

from collections.abc import AsyncIterator

import httpx
import pytest
from httpx_sse import aconnect_sse

from server_sent_events_app import app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def test_sse_stream(client: httpx.AsyncClient) -> None:
    async with aconnect_sse(client, "GET", "/api/events/news") as source:
        assert source.response.status_code == 200
        events = [event async for event in source.aiter_sse()]

    # Every event, in order, and nothing else: `"Event 4 for news" in content` would also pass
    # for a stream that dropped, repeated or reordered the events between.
    assert [(event.id, event.data) for event in events] == [(str(i), f"Event {i} for news") for i in range(5)]


async def test_resume_after_last_event_id(client: httpx.AsyncClient) -> None:
    async with aconnect_sse(client, "GET", "/api/events/news", headers={"Last-Event-ID": "2"}) as source:
        events = [event async for event in source.aiter_sse()]

    assert [event.data for event in events] == ["Event 3 for news", "Event 4 for news"]


async def test_the_wire_format(client: httpx.AsyncClient) -> None:
    """What a browser's EventSource reads: FastAPI writes the frames the article wrote by hand."""
    response = await client.get("/api/events/news", headers={"Accept": "text/event-stream"})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text == "".join(f"data: Event {i} for news\nid: {i}\n\n" for i in range(5))


@pytest.mark.parametrize("last_event_id", ["abc", "-1"])
async def test_a_bad_last_event_id_is_a_422(client: httpx.AsyncClient, last_event_id: str) -> None:
    response = await client.get("/api/events/news", headers={"Last-Event-ID": last_event_id})

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["header", "last-event-id"]
