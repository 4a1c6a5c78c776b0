"""The async client with the lifespan running, and the health check."""

import httpx
import pytest
from fastapi import FastAPI

from articles.app import create_app
from articles.redis_client import RedisUnavailableError
from articles.settings import Settings
from fastapi_testkit import LifespanClient, LiveServer, lifespan_client
from fastapi_testkit.process import free_port

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
pytestmark = pytest.mark.lifespan


async def test_health_check_answers_ok(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_lifespan_state_reaches_the_test(client: LifespanClient) -> None:
    # The kit passes the lifespan state through, so tests can reach the app's engine and cache.
    assert set(client.state) == {"settings", "sessionmaker", "cache"}


async def test_without_the_lifespan_requests_have_no_session(app: FastAPI) -> None:
    """The article's client: ASGITransport alone never runs the lifespan.

    Routes that read what the lifespan created then fail; `lifespan_client` (the `client`
    fixture) is the fix.
    """
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as bare:
        assert (reply := await bare.get("/health")).status_code == 200, reply.text  # needs nothing from the lifespan
        with pytest.raises(AttributeError, match="sessionmaker"):
            await bare.get("/api/articles/")


async def test_health_over_a_real_socket(live_server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        response = await http.get("/health")

    assert response.json() == {"status": "ok"}


async def test_an_unreachable_redis_fails_the_startup_naming_it(settings: Settings) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings.model_copy(update={"redis_url": url}))

    with pytest.raises(RedisUnavailableError, match=f"Redis at {url} did not answer"):
        async with lifespan_client(app):
            pass  # pragma: no cover
