"""The health check, and the lifespan that creates the Redis client once per app."""

import pytest

from events.app import create_app
from events.redis_client import RedisUnavailableError
from events.settings import Settings
from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.process import free_port

pytestmark = pytest.mark.lifespan


async def test_health_check_answers_ok(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_lifespan_state_reaches_the_test(client: LifespanClient) -> None:
    assert set(client.state) == {"settings", "streams", "hub", "subscribers"}
    assert await client.state["streams"].redis.ping()


async def test_an_unreachable_redis_fails_the_startup_naming_it(settings: Settings) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings.model_copy(update={"redis_url": url}))

    with pytest.raises(RedisUnavailableError, match=f"Redis at {url} did not answer"):
        async with lifespan_client(app):
            pass  # pragma: no cover
