"""Fixtures for the chat suite.

The kit (fastapi_testkit, a pytest plugin) provides `redis_url` and `mongo_url` (None for the
embedded backends, or a real server's isolated database), `client` (an httpx client with the
lifespan running, built on the `app` fixture below) and `live_server`. This file says how to
build this service's app from them, and gives WebSocket connections to it.
"""

import pytest
from fastapi import FastAPI

from chat.app import create_app
from chat.settings import Settings
from fastapi_testkit import LifespanClient
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import make_settings


@pytest.fixture
def settings(redis_url: str | None, mongo_url: str | None) -> Settings:
    """Embedded: rooms in the process, mongomock. Real: Redis pub/sub (and MongoDB if given)."""
    return make_settings(redis_url, mongo_url)


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def ws(app: FastAPI, client: LifespanClient) -> WebSocketConnector:
    """Opens WebSockets to `app` in-process, sharing the lifespan that `client` runs.

    A plain fixture: it enters nothing, so tests enter `ws.connect(...)` themselves (an httpx-ws
    session entered in a yield fixture fails at teardown; see the kit's websocket module).
    """
    return WebSocketConnector(app, state=client.state)
