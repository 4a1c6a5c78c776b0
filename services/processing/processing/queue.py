"""`PROCESSING_MODE=queue`: the summary as a taskiq job, on Redis or in this process.

Only the article's id travels: the job reads everything else from the database, so a second
delivery of it is harmless (storage.start_processing).
"""

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated, Any, cast

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker, TaskiqDepends, TaskiqState
from taskiq_redis import RedisStreamBroker

from processing.settings import Settings
from processing.tasks import RetryPolicy, process_article_async

logger = logging.getLogger(__name__)

TASK_NAME = "processing.process_article"
QUEUE_NAME = "processing"  # the Redis stream, and its consumer group
# Jobs a worker takes from the stream at once, and runs at the same time.
WORKER_CONCURRENCY = 10
# How long a worker's read of the stream blocks, in ms; short, so a stop is prompt.
XREAD_BLOCK_MS = 500
# Seconds a worker waits before reading again from a Redis it cannot reach: doubled after each
# failure up to the cap, back to the first after a read that worked.
RECONNECT_DELAY = 0.1
RECONNECT_DELAY_CAP = 5.0


# What redis-py returns from XREADGROUP and XAUTOCLAIM (typed only as Any there); only
# XAUTOCLAIM returns entries deleted meanwhile, as None.
Fetched = list[tuple[str, list[tuple[str, dict[bytes, bytes]]]]] | None
Messages = list[tuple[str, dict[bytes, bytes] | None]]


class ReclaimingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, with its gaps closed (docs/processing.md, "The queue on Redis").

    - Stock `listen` reclaims a dead worker's jobs (XAUTOCLAIM) only after a read that found
      new ones: with nothing new arriving they stay pending for ever. Here every
      `reclaim_interval` seconds, whether or not anything new came.
    - XAUTOCLAIM is atomic, so the stock lock around it (which never expires unless given a
      timeout: a worker killed while holding it stops every reclaim) is not needed.
    - An acknowledged job is deleted from the stream too, which would otherwise grow for ever.
    - Only startup declares the consumer group: a Redis restarted without its data (or flushed)
      fails every read with NOGROUP, and taskiq restarts the listener at once, tens of thousands
      of times a minute, running nothing. Here the listener declares the group again.
    - A Redis that cannot be reached fails every read at once too: here the listener reads again
      after a delay that doubles, up to RECONNECT_DELAY_CAP, instead of being restarted in a loop.

    `_ack_generator` is private API: taskiq-redis is pinned to the tested minor release.
    """

    def __init__(self, url: str, *, reclaim_interval: float, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.reclaim_interval = reclaim_interval
        self._reconnect_delay = RECONNECT_DELAY

    def _ack_generator(self, id: str, queue_name: str) -> Callable[[], Awaitable[None]]:
        async def ack() -> None:
            async with Redis(connection_pool=self.connection_pool) as redis, redis.pipeline() as pipe:
                pipe.xack(queue_name, self.consumer_group_name, id)
                pipe.xdel(queue_name, id)
                await pipe.execute()

        return ack

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        last_reclaim = 0.0
        async with Redis(connection_pool=self.connection_pool) as redis:
            while True:
                for message in await self._survive(redis, self._read_new(redis)):
                    yield message
                if time.monotonic() - last_reclaim < self.reclaim_interval:
                    continue
                last_reclaim = time.monotonic()
                for message in await self._survive(redis, self._reclaim(redis)):
                    yield message

    async def _read_new(self, redis: Redis) -> list[AckableMessage]:
        fetched = await redis.xreadgroup(
            self.consumer_group_name,
            self.consumer_name,
            {self.queue_name: ">"},
            block=self.block,
            count=self.count,
        )
        return [
            AckableMessage(data=message[b"data"], ack=self._ack_generator(message_id, stream))
            for stream, messages in cast(Fetched, fetched) or []
            for message_id, message in messages
        ]

    async def _reclaim(self, redis: Redis) -> list[AckableMessage]:
        reclaimed = await redis.xautoclaim(
            self.queue_name,
            self.consumer_group_name,
            self.consumer_name,
            min_idle_time=self.idle_timeout,
            count=self.unacknowledged_batch_size,
        )
        return [
            AckableMessage(data=message[b"data"], ack=self._ack_generator(message_id, self.queue_name))
            for message_id, message in cast(Messages, reclaimed[1])
            if message is not None  # deleted from the stream meanwhile
        ]

    async def _survive(self, redis: Redis, read: Awaitable[list[AckableMessage]]) -> list[AckableMessage]:
        """What `read` returns; nothing, once what failed it is mended or waited out."""
        try:
            messages = await read
        except (RedisConnectionError, RedisTimeoutError) as error:
            logger.warning("reading from Redis failed (%s); reading again in %.1f s", error, self._reconnect_delay)
            await asyncio.sleep(self._reconnect_delay)
            self._reconnect_delay = min(2 * self._reconnect_delay, RECONNECT_DELAY_CAP)
            return []
        except ResponseError as error:
            if not _group_lost(error):
                raise
            await self._declare_group_again(redis)
            return []
        self._reconnect_delay = RECONNECT_DELAY
        return messages

    async def _declare_group_again(self, redis: Redis) -> None:
        """The group, from `consumer_id` (the stream's start, make_broker): the jobs added since
        the loss (recovery's among them) are all delivered. Acknowledged jobs are deleted from
        the stream, so only one still running elsewhere could be delivered twice, which the job
        tolerates (storage.start_processing).
        """
        logger.warning("consumer group %r missing (Redis restarted?); creating it again", self.consumer_group_name)
        try:
            await redis.xgroup_create(self.queue_name, self.consumer_group_name, id=self.consumer_id, mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):  # another worker made it first
                raise


def _group_lost(error: ResponseError) -> bool:
    """NOGROUP: the stream or its group is missing. UNBLOCKED: Redis 7 ends a blocked read so
    when its stream is deleted (a FLUSHDB under a waiting worker)."""
    return str(error).startswith(("NOGROUP", "UNBLOCKED"))


def make_broker(settings: Settings, *, client_name: str = "processing", **connection: Any) -> AsyncBroker:
    """The in-memory broker without `redis_url` (jobs run in this process), else Redis's.

    On Redis its connections are named `client_name` (CLIENT SETNAME), so an operator, and the
    fault tests, can tell the API's from a worker's; `connection` goes to the connection pool
    too (the tests give it fakeredis's).
    """
    broker: AsyncBroker
    if settings.redis_url is None:
        broker = InMemoryBroker(max_async_tasks=WORKER_CONCURRENCY)
    else:
        broker = ReclaimingStreamBroker(
            settings.redis_url,
            queue_name=QUEUE_NAME,
            consumer_group_name=QUEUE_NAME,
            idle_timeout=int(settings.redelivery_delay * 1000),
            reclaim_interval=settings.reclaim_interval,
            xread_block=XREAD_BLOCK_MS,
            xread_count=WORKER_CONCURRENCY,
            # A group declared anew (the first start, or Redis lost it) delivers what the stream
            # holds already: jobs sent while no group existed, recovery's among them.
            consumer_id="0",
            client_name=client_name,
            **connection,
        )
    broker.register_task(process_article, task_name=TASK_NAME)
    return broker


async def enqueue(broker: AsyncBroker, article_id: int) -> None:
    task = broker.find_task(TASK_NAME)
    assert task is not None, "make_broker registers it"
    await task.kiq(article_id)


async def process_article(article_id: int, state: Annotated[TaskiqState, TaskiqDepends()]) -> None:
    """The job: the same task function as the background mode, given what the worker holds.

    `state` is the broker's: the API's lifespan fills it for the in-memory broker, the worker's
    startup (worker.py) for Redis.
    """
    settings: Settings = state.settings
    await process_article_async(
        article_id,
        state.sessionmaker,
        settings.summarizer,
        timeout=settings.summary_timeout,
        retry=retry_policy(settings),
    )


def retry_policy(settings: Settings) -> RetryPolicy:
    return RetryPolicy(attempts=settings.max_attempts, delay=settings.retry_delay)
