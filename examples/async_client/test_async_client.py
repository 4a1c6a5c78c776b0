from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from async_client_app import app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_health_check(client: httpx.AsyncClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_list_articles(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/articles/")

    assert response.status_code == 200, response.text
    assert response.json() == [{"title": "Hello, async"}]


async def test_without_the_lifespan_its_state_is_missing() -> None:
    """The transport alone never starts the app: what the lifespan yields is not there."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/health")).status_code == 200  # needs nothing from the lifespan
        with pytest.raises(AttributeError, match="articles"):
            await client.get("/api/articles/")
