"""What more than one test module of the events suite needs: publishing, counting, the served state."""

from typing import Any, cast

import httpx
from redis.asyncio import Redis

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


def connections_in_use(redis: Redis) -> int:
    """Connections the app's Redis client has lent out: one per blocked XREAD, plus requests in flight."""
    # redis-py has no public count of borrowed connections before 8.x (`get_connection_count`);
    # this set is what its pool has kept them in for years, fake and real clients alike.
    return len(redis.connection_pool._in_use_connections)


async def blocked_xreads(redis_url: str) -> int:
    """Clients of this test's Redis database that the server sees waiting in XREAD."""
    async with Redis.from_url(redis_url, decode_responses=True) as admin:
        db = str(admin.connection_pool.connection_kwargs.get("db", 0))
        clients = await admin.client_list()
    return sum(1 for c in clients if c["cmd"] == "xread" and c["db"] == db and "b" in c["flags"])
