"""The async client with the lifespan running, and the health check.

The pattern at its smallest, without the kit (`AsyncClient` on `ASGITransport`, the lifespan
run by asgi-lifespan, and what goes missing without it): examples/async_client/.
"""

import httpx
import pytest

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
