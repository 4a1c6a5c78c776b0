"""Fixtures for the events suite.

The kit (fastapi_testkit, a pytest plugin) provides `redis_url` (None for the embedded
fakeredis, or a flushed database of a real server), `client` (an httpx client with the
lifespan running, built on the `app` fixture below) and `live_server` (the same app under
uvicorn, for endless streams). This file says how to build this service's app from them.
"""

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import LiveServer

from .helpers import KEEPALIVE, MAX_LENGTH


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
