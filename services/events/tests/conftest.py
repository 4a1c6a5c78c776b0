"""Fixtures for the events suite.

The kit (fastapi_testkit, a pytest plugin) provides `redis_url` (None for the embedded
fakeredis, or a flushed database of a real server), `client` (an httpx client with the
lifespan running, built on the `app` fixture below) and `live_server` (the same app under
uvicorn, for endless streams). This file says how to build this service's app from them.
"""

from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from events.app import State, create_app
from events.settings import Settings
from fastapi_testkit import LiveServer

# Short, so that tests see keep-alive comments within milliseconds.
KEEPALIVE = 0.05
MAX_LENGTH = 50


@pytest.fixture
def settings(redis_url: str | None) -> Settings:
    # Every field set explicitly, so EVENTS_* variables in the shell cannot leak into tests.
    return Settings(redis_url=redis_url, stream_max_length=MAX_LENGTH, keepalive_interval=KEEPALIVE)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """A real HTTP client of the app under uvicorn: what an endless stream needs."""
    async with httpx.AsyncClient(base_url=live_server.url, timeout=5) as client:
        yield client


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
