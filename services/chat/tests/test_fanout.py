"""Fan-out through Redis pub/sub: two instances of the service on one Redis share their rooms.

On the embedded backend both instances name one in-process fake server (`fakeredis://<name>`);
with `--backend real` they share this xdist worker's database on the real Redis.
"""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from chat import fanout as fanout_module
from chat.app import create_app
from chat.fanout import RedisFanOut
from chat.redis_client import RedisUnavailableError
from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.process import free_port
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import make_settings, rooms

pytestmark = pytest.mark.websocket


@pytest.fixture
def shared_redis_url(redis_url: str | None) -> str:
    """The real Redis of this test, or a fake server of this test's own."""
    return redis_url or f"fakeredis://chat-{uuid.uuid4().hex}/0"


@asynccontextmanager
async def instance(redis_url: str, mongo_url: str | None) -> AsyncIterator[tuple[LifespanClient, WebSocketConnector]]:
    """One instance of the service, lifespan running: its HTTP client and its WebSocket connector."""
    app = create_app(make_settings(redis_url, mongo_url))
    async with lifespan_client(app) as client:
        yield client, WebSocketConnector(app, state=client.state)


async def test_a_message_sent_on_one_instance_reaches_members_on_both(
    shared_redis_url: str, mongo_url: str | None
) -> None:
    async with (
        instance(shared_redis_url, mongo_url) as (_, one),
        instance(shared_redis_url, mongo_url) as (_, two),
        one.connect("/ws/chat/lobby") as alice,
        two.connect("/ws/chat/lobby") as bob,
    ):
        await alice.send_text("hello from one")
        assert await bob.receive_text() == "Room lobby: hello from one"
        assert await alice.receive_text() == "Room lobby: hello from one"
        await bob.send_text("hello from two")
        assert await alice.receive_text() == "Room lobby: hello from two"
        assert await bob.receive_text() == "Room lobby: hello from two"


async def test_rooms_stay_isolated_across_instances(shared_redis_url: str, mongo_url: str | None) -> None:
    async with (
        instance(shared_redis_url, mongo_url) as (_, one),
        instance(shared_redis_url, mongo_url) as (_, two),
        one.connect("/ws/chat/red") as red,
        two.connect("/ws/chat/blue") as blue,
    ):
        await red.send_text("red only")
        assert await red.receive_text() == "Room red: red only"
        await blue.send_text("blue only")
        # Had red's message leaked to blue, it would be first.
        assert await blue.receive_text() == "Room blue: blue only"


async def test_each_instance_counts_its_own_members(shared_redis_url: str, mongo_url: str | None) -> None:
    async with (
        instance(shared_redis_url, mongo_url) as (client_one, one),
        instance(shared_redis_url, mongo_url) as (client_two, two),
        one.connect("/ws/chat/lobby"),
        one.connect("/ws/chat/lobby"),
        two.connect("/ws/chat/lobby"),
    ):
        assert await rooms(client_one) == {"lobby": 2}
        assert await rooms(client_two) == {"lobby": 1}


async def test_apps_on_other_database_numbers_do_not_share_rooms(mongo_url: str | None) -> None:
    """Redis pub/sub ignores database numbers; the channel names carry them, as keys would."""
    server = f"fakeredis://chat-{uuid.uuid4().hex}"
    async with (
        instance(f"{server}/0", mongo_url) as (_, zero),
        instance(f"{server}/1", mongo_url) as (_, one),
        zero.connect("/ws/chat/lobby") as on_zero,
        one.connect("/ws/chat/lobby") as on_one,
    ):
        await on_zero.send_text("database 0")
        assert await on_zero.receive_text() == "Room lobby: database 0"
        # Had database 0's message reached database 1's room, it would come first.
        await on_one.send_text("database 1")
        assert await on_one.receive_text() == "Room lobby: database 1"


async def test_the_listener_resubscribes_after_losing_redis(
    shared_redis_url: str, mongo_url: str | None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(fanout_module, "RECONNECT_DELAY", 0.01)
    async with instance(shared_redis_url, mongo_url) as (client, ws):
        fanout = client.state["fanout"]
        assert isinstance(fanout, RedisFanOut)
        get_message = fanout._pubsub.get_message
        failures = [RedisConnectionError("connection lost")]

        async def flaky_get_message(**kwargs: object) -> object:
            if failures:
                raise failures.pop()
            return await get_message(**kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(fanout._pubsub, "get_message", flaky_get_message)
        async with ws.connect("/ws/chat/lobby") as session:
            # The listener is already waiting in the real get_message: this one comes through it,
            # and the listener's next call fails.
            await session.send_text("before")
            assert await session.receive_text() == "Room lobby: before"
            # Had the failure ended the listener, this would never arrive.
            await session.send_text("after")
            assert await session.receive_text() == "Room lobby: after"

    assert failures == []
    assert "Lost the Redis pub/sub connection" in caplog.text


async def test_an_unreachable_redis_fails_the_startup(mongo_url: str | None) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(make_settings(url, mongo_url))

    with pytest.raises(RedisUnavailableError, match=f"Redis at {url} did not answer"):
        async with lifespan_client(app):
            pass  # pragma: no cover
