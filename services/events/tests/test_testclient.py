"""The live stream through Starlette's TestClient, which streams responses (since Starlette 0.21).

TestClient runs the app in a thread of its own, so these are plain `def` tests. Its reads
block, so the kit's `sse_stream_sync` reads in a thread and gives each read a deadline.
Closing the stream cancels the app's request, as a client going away would; TestClient
returns from the close only once the request has finished, so the clean-up has already run.
"""

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_testkit.sse import sse_stream_sync

pytestmark = pytest.mark.sse


@pytest.fixture
def test_client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:  # `with`: runs the lifespan
        yield client


def publish(test_client: TestClient, topic: str, data: object) -> str:
    response = test_client.post(f"/api/topics/{topic}/events", json={"event": "update", "data": data})
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    return event_id


def test_events_arrive_one_by_one_through_test_client(test_client: TestClient) -> None:
    with sse_stream_sync(test_client, "/api/topics/news/stream") as stream:
        assert test_client.get("/api/topics/news").json()["subscribers"] == 1
        for i in range(3):
            # Each event is read before the next is published: delivered incrementally.
            event_id = publish(test_client, "news", {"n": i})
            event = stream.next_event()

            assert (event.id, event.event, json.loads(event.data)) == (event_id, "update", {"n": i})

    assert test_client.get("/api/topics/news").json()["subscribers"] == 0


def test_resume_through_test_client(test_client: TestClient) -> None:
    first, second, third = (publish(test_client, "news", i) for i in range(3))

    with sse_stream_sync(test_client, "/api/topics/news/stream", headers={"Last-Event-ID": first}) as stream:
        assert [e.id for e in stream.take(2)] == [second, third]
