"""The health check, and the lifespan that creates the Redis client once per app."""

import pytest

from fastapi_testkit import LifespanClient

pytestmark = pytest.mark.lifespan


async def test_health_check_answers_ok(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_lifespan_state_reaches_the_test(client: LifespanClient) -> None:
    assert set(client.state) == {"settings", "streams", "subscribers"}
    assert await client.state["streams"].redis.ping()
