"""What more than one test module of the events suite needs: publishing, counting, the served state."""

from typing import Any, cast

import httpx

from events.app import State
from fastapi_testkit import LiveServer

# Short, so that tests see keep-alive comments within milliseconds.
KEEPALIVE = 0.05


MAX_LENGTH = 50


def order(event_id: str) -> tuple[int, int]:
    """A stream id as Redis orders it: `(milliseconds, sequence)`. As text, "1-10" < "1-9"."""
    ms, seq = event_id.split("-")
    return int(ms), int(seq)


async def publish(http: httpx.AsyncClient, topic: str, data: Any, event: str = "update") -> str:
    """Publish one event and return its id."""
    response = await http.post(f"/api/topics/{topic}/events", json={"event": event, "data": data})
    assert response.status_code == 201, response.text
    event_id: str = response.json()["id"]
    return event_id


async def subscribers(http: httpx.AsyncClient, topic: str) -> int:
    """How many streams of `topic` the server has open, as it reports them."""
    count: int = (await http.get(f"/api/topics/{topic}")).json()["subscribers"]
    return count


def served_state(server: LiveServer) -> State:
    """The lifespan state of the app a live server runs (the app's Redis client, its counts), typed."""
    return cast(State, server.state)
