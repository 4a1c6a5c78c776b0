"""Publishing, `POST /api/topics/{topic}/events`, and what a topic holds, `GET /api/topics/{topic}`.

Both answer at once, so the in-process client is enough. What a stream then sends is in
test_stream.py; refused input is in test_validation.py.
"""

import pytest

from fastapi_testkit import LifespanClient

from .helpers import order

pytestmark = pytest.mark.sse


async def test_publishing_answers_201_with_the_events_id(client: LifespanClient) -> None:
    first = await client.post("/api/topics/news/events", json={"event": "headline", "data": {"title": "One"}})
    second = await client.post("/api/topics/news/events", json={"event": "headline", "data": None})

    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert set(first.json()) == {"id"}
    # Redis Stream ids, `<milliseconds>-<sequence>`, grow with every event of a topic.
    assert order(first.json()["id"]) < order(second.json()["id"])


def test_ids_are_ordered_as_numbers_not_as_text() -> None:
    assert "1-10" < "1-9"  # as text, the tenth event of a millisecond sorts before the ninth
    assert order("1-10") > order("1-9")
    assert order("10-0") > order("9-99")


async def test_a_topic_reports_its_length_and_newest_id(client: LifespanClient) -> None:
    ids = [
        (await client.post("/api/topics/news/events", json={"event": "e", "data": i})).json()["id"] for i in range(3)
    ]

    info = (await client.get("/api/topics/news")).json()

    assert info == {"topic": "news", "length": 3, "last_event_id": ids[-1], "subscribers": 0}


async def test_an_unknown_topic_is_empty_not_an_error(client: LifespanClient) -> None:
    response = await client.get("/api/topics/unknown")

    assert response.status_code == 200, response.text
    assert response.json() == {"topic": "unknown", "length": 0, "last_event_id": None, "subscribers": 0}


async def test_the_events_are_kept_in_a_redis_stream_per_topic(client: LifespanClient) -> None:
    """The storage itself, through the app's own Redis client: what a replay reads from."""
    await client.post("/api/topics/news/events", json={"event": "headline", "data": {"title": "One"}})

    entries = await client.state["streams"].redis.xrange("events:news")

    assert [fields for _id, fields in entries] == [{"event": "headline", "data": '{"title":"One"}'}]
