"""Redis drops chat's connections, the pub/sub one included (real backend only).

Two instances share rooms through Redis pub/sub (fanout.py). When the server closes their
connections (a restart, a failover, `CLIENT KILL`), the fan-out must come back by itself: a
message sent after the kill reaches the other instance within a deadline. Pub/sub delivers at
most once, so a message sent while an instance is subscribing again may be lost; the test sends
until one arrives (docs/chat.md, "When Redis drops the connections").
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from chat.app import create_app
from fastapi_testkit import lifespan_client
from fastapi_testkit.faults import kill_redis_clients
from fastapi_testkit.websocket import WebSocketConnector, WebSocketSession

from .helpers import make_settings

pytestmark = [pytest.mark.websocket, pytest.mark.real_only(reason="kills connections on the real Redis server")]

DEADLINE = 5.0


@asynccontextmanager
async def instance(redis_url: str, mongo_url: str | None) -> AsyncIterator[WebSocketConnector]:
    app = create_app(make_settings(redis_url, mongo_url))
    async with lifespan_client(app) as client:
        yield WebSocketConnector(app, state=client.state)


async def _first_to_arrive(sender: WebSocketSession, receiver: WebSocketSession) -> tuple[int, str]:
    """Send numbered messages until the receiver gets one; how many were sent, and what arrived."""
    async with asyncio.timeout(DEADLINE):
        sent = 0
        while True:
            sent += 1
            await sender.send_text(f"after {sent}")
            try:
                return sent, await receiver.receive_text(timeout=0.5)
            except TimeoutError:
                continue


async def test_the_fan_out_comes_back_after_redis_dropped_its_connections(
    redis_url: str, mongo_url: str | None
) -> None:
    async with (
        instance(redis_url, mongo_url) as one,
        instance(redis_url, mongo_url) as two,
        one.connect("/ws/chat/lobby") as alice,
        two.connect("/ws/chat/lobby") as bob,
    ):
        await alice.send_text("before")
        assert await bob.receive_text() == "Room lobby: before"

        assert await kill_redis_clients(redis_url, "chat") >= 2  # at least both subscriptions

        sent, arrived = await _first_to_arrive(alice, bob)
        assert arrived.startswith("Room lobby: after "), arrived
        # From then on every message arrives, both ways.
        await bob.send_text("and back")
        assert await _next_not_a_probe(alice) == "Room lobby: and back"
        assert sent <= DEADLINE / 0.5


async def _next_not_a_probe(session: WebSocketSession) -> str:
    """The next message that is not one of the numbered ones (the sender sees its own, too)."""
    while (text := await session.receive_text()).startswith("Room lobby: after ") or text == "Room lobby: before":
        pass
    return text
