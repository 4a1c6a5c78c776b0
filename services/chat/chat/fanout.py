"""How a room message reaches the room's members: in this process, or through Redis pub/sub."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from chat.groups import Groups
from chat.redis_client import open_redis

logger = logging.getLogger(__name__)

# Seconds between attempts to get the subscription back once redis-py's own retries gave up.
RECONNECT_DELAY = 1.0


class FanOut(Protocol):
    async def publish(self, room_id: str, text: str) -> None:
        """Deliver `text` to every member of the room, wherever it is connected."""


class LocalFanOut:
    """Rooms in this process only: a message reaches the members connected here."""

    def __init__(self, rooms: Groups) -> None:
        self.rooms = rooms

    async def publish(self, room_id: str, text: str) -> None:
        self.rooms.deliver(room_id, text)


class RedisFanOut:
    """Every message goes through Redis pub/sub; each instance delivers it to its own members.

    Each instance holds one subscription, to the pattern of every room's channel, made before the
    app starts serving: a member who joins needs no round trip to Redis, so nothing published
    after the join can be missed. The price is that every instance receives every room's
    messages; with many instances and rooms, subscribe per room instead.
    """

    def __init__(self, redis: Redis, rooms: Groups) -> None:
        self.redis = redis
        self.rooms = rooms
        # Redis pub/sub ignores database numbers: a channel is seen from every database of the
        # server. The number in the name keeps apps on different databases apart (two test
        # workers, or staging and development on one server), as their keys are.
        db = redis.connection_pool.connection_kwargs.get("db", 0)
        self.prefix = f"chat:{db}:room:"
        self._pubsub = redis.pubsub()
        self._listener: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._pubsub.psubscribe(f"{self.prefix}*")
        # psubscribe only sends the command; until Redis confirms it, a message published from
        # another connection could still go unseen. Wait for the confirmation before serving.
        confirmation = await self._pubsub.get_message(timeout=5)
        if confirmation is None or confirmation["type"] != "psubscribe":
            raise RuntimeError(f"Redis did not confirm the subscription within 5 s (got {confirmation!r})")
        self._listener = asyncio.create_task(self._listen(), name="chat.fanout.listener")

    async def publish(self, room_id: str, text: str) -> None:
        await self.redis.publish(self.prefix + room_id, text)

    async def _listen(self) -> None:
        while True:
            try:
                message = await self._pubsub.get_message(timeout=None)  # None: wait for the next one
            except RedisConnectionError:
                # redis-py reconnects and subscribes again by itself, with a few retries; past
                # those, keep trying rather than leave every room silent for good. Messages
                # published meanwhile are lost: pub/sub delivers at most once.
                logger.exception("Lost the Redis pub/sub connection; retrying in %s s", RECONNECT_DELAY)
                await asyncio.sleep(RECONNECT_DELAY)
                continue
            if message is not None and message["type"] == "pmessage":
                self.rooms.deliver(message["channel"].removeprefix(self.prefix), message["data"])

    async def aclose(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py


@asynccontextmanager
async def open_fanout(
    redis_url: str | None, rooms: Groups, *, max_connections: int = 50, pool_timeout: float = 10.0
) -> AsyncIterator[FanOut]:
    """The fan-out for `rooms`: in-process when `redis_url` is None, else through that Redis."""
    if redis_url is None:
        yield LocalFanOut(rooms)
        return
    redis = await open_redis(
        redis_url, decode_responses=True, max_connections=max_connections, pool_timeout=pool_timeout
    )
    fanout = RedisFanOut(redis, rooms)
    try:
        await fanout.start()
        yield fanout
    finally:
        await fanout.aclose()
        await redis.aclose()
