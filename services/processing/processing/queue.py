"""`PROCESSING_MODE=queue`: the summary as a taskiq job, on Redis or in this process.

Only the article's id travels: the job reads everything else from the database, so a second
delivery of it is harmless (storage.start_processing).
"""

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Annotated, Any, cast

from redis.asyncio import Redis
from redis.exceptions import ResponseError
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


# What redis-py returns from XREADGROUP and XAUTOCLAIM (typed only as Any there).
Messages = list[tuple[str, dict[bytes, bytes] | None]]
Fetched = list[tuple[str, Messages]] | None


class ReclaimingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, with three of its gaps closed (README, "the queue").

    - Stock `listen` reclaims a dead worker's jobs (XAUTOCLAIM) only after a read that found
      new ones: with nothing new arriving they stay pending for ever. Here every
      `reclaim_interval` seconds, whether or not anything new came.
    - XAUTOCLAIM is atomic, so the stock lock around it (which never expires unless given a
      timeout: a worker killed while holding it stops every reclaim) is not needed.
    - An acknowledged job is deleted from the stream too, which would otherwise grow for ever.

    `_ack_generator` is private API: taskiq-redis is pinned to the tested minor release.
    """

    def __init__(self, url: str, *, reclaim_interval: float, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.reclaim_interval = reclaim_interval

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
                try:
                    fetched = await redis.xreadgroup(
                        self.consumer_group_name,
                        self.consumer_name,
                        {self.queue_name: ">"},
                        block=self.block,
                        count=self.count,
                    )
                except ResponseError as error:
                    if not str(error).startswith("NOGROUP"):
                        raise
                    await self._recreate_group(redis)
                    continue
                for stream, messages in cast(Fetched, fetched) or []:
                    for message_id, message in messages:
                        assert message is not None  # only XAUTOCLAIM returns deleted entries
                        yield AckableMessage(data=message[b"data"], ack=self._ack_generator(message_id, stream))
                if time.monotonic() - last_reclaim < self.reclaim_interval:
                    continue
                last_reclaim = time.monotonic()
                reclaimed = await redis.xautoclaim(
                    self.queue_name,
                    self.consumer_group_name,
                    self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=self.unacknowledged_batch_size,
                )
                for message_id, message in cast(Messages, reclaimed[1]):
                    if message is not None:  # deleted from the stream meanwhile
                        yield AckableMessage(
                            data=message[b"data"], ack=self._ack_generator(message_id, self.queue_name)
                        )

    async def _recreate_group(self, redis: Redis) -> None:
        """A Redis restarted without its data (or flushed) has lost the consumer group, which
        only startup declares: every read then fails with NOGROUP, and taskiq's receiver
        restarts the listener at once, tens of thousands of times a minute, running nothing.
        The group comes back reading from the stream's start (id 0), so the jobs enqueued since
        (recovery's among them) are all delivered; acknowledged ones are deleted, none is run twice.
        """
        logger.warning("consumer group %r missing (Redis restarted?); creating it again", self.consumer_group_name)
        try:
            await redis.xgroup_create(self.queue_name, self.consumer_group_name, id="0", mkstream=True)
        except ResponseError as error:
            if not str(error).startswith("BUSYGROUP"):  # another worker made it first
                raise


def make_broker(settings: Settings) -> AsyncBroker:
    """The in-memory broker without `redis_url` (jobs run in this process), else Redis's."""
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
