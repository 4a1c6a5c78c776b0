from collections.abc import AsyncIterator
from unittest.mock import AsyncMock

import httpx
import pytest

from dependency_overrides_app import User, app, get_cache, get_current_user


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # this app has no lifespan to run
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture
def mock_cache(monkeypatch: pytest.MonkeyPatch) -> AsyncMock:
    """An empty cache. monkeypatch restores the override that was there (or removes this one)."""
    mock = AsyncMock()  # no spec=Redis: its commands are not `async def`, so a spec makes them sync mocks
    mock.get.return_value = None
    monkeypatch.setitem(app.dependency_overrides, get_cache, lambda: mock)
    return mock


@pytest.fixture
def authenticated_client(client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch) -> httpx.AsyncClient:
    monkeypatch.setitem(app.dependency_overrides, get_current_user, lambda: User(id=1, username="asynctest"))
    return client
