"""What more than one test module of the chat suite needs: settings, tokens, reading rooms and sockets."""

import asyncio
from typing import Any

from websockets.asyncio.client import ClientConnection

from chat.settings import Settings
from fastapi_testkit import LifespanClient, create_token

SECRET = "test-secret-that-is-at-least-32-bytes"


def make_settings(redis_url: str | None, mongo_url: str | None, **overrides: Any) -> Settings:
    # Every field set explicitly, so CHAT_* variables in the shell cannot leak into tests.
    fields: dict[str, Any] = {
        "redis_url": redis_url,
        "mongo_url": mongo_url,
        "jwt_secret": SECRET,
        "max_message_bytes": 4096,
        "queue_size": 100,
    }
    return Settings(**(fields | overrides))


def token(user_id: str = "alice", **claims: Any) -> str:
    """A valid token for `user_id`, signed with the suite's secret."""
    return create_token(user_id, SECRET, **claims)


def bearer(user_id: str = "alice") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(user_id)}"}


async def rooms(client: LifespanClient) -> dict[str, int]:
    """Room id -> members, as the service reports them."""
    response = await client.get("/api/rooms")
    assert response.status_code == 200, response.text
    return {room["room_id"]: room["members"] for room in response.json()}


async def receive(connection: ClientConnection, timeout: float = 5) -> str:  # noqa: ASYNC109 (a read's deadline)
    """The next text message, within `timeout` seconds."""
    async with asyncio.timeout(timeout):
        message = await connection.recv()
    assert isinstance(message, str)
    return message
