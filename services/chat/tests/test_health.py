"""The health check, and what the lifespan hands to requests and sockets."""

import pytest

from fastapi_testkit import LifespanClient

pytestmark = pytest.mark.lifespan


async def test_health_check_answers_ok(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_lifespan_state_reaches_the_test(client: LifespanClient) -> None:
    # The kit passes the lifespan state through: the WebSocket connector shares it (conftest).
    assert set(client.state) == {"settings", "rooms", "inboxes", "fanout", "history", "history_writer"}


async def test_a_plain_get_on_a_socket_route_is_not_found(client: LifespanClient) -> None:
    assert (reply := await client.get("/ws/chat/lobby")).status_code == 404, reply.text
