"""The async client with the lifespan running, and the health check."""

import pytest

from fastapi_testkit import LifespanClient

pytestmark = pytest.mark.lifespan


async def test_health_check_answers_ok(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_lifespan_state_reaches_the_test(client: LifespanClient) -> None:
    # The kit passes the lifespan state through, so tests can reach the app's sessionmaker,
    # which is also what a test hands to the task when it runs it directly.
    assert set(client.state) == {"settings", "sessionmaker", "broker"}
