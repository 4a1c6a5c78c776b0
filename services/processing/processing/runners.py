"""Where accepted work runs, one runner per `PROCESSING_MODE`.

A runner is what the lifespan enters once: it yields the broker requests enqueue on (`None` in
background mode) and the `resubmit` that recovery hands expired claims to, and on exit stops
the work it started.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker

from processing.queue import enqueue, make_broker, retry_policy
from processing.recovery import Resubmit
from processing.redis_client import check_redis
from processing.settings import Settings
from processing.tasks import process_article_async

logger = logging.getLogger(__name__)

# At shutdown, seconds the in-memory broker's running jobs get to finish; what is left stays
# claimed in the database and is recovered after the lease.
JOBS_SHUTDOWN_GRACE = 3


@asynccontextmanager
async def background_runner(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[None, Resubmit]]:
    """Background mode: recovered work runs as tasks of this process, cancelled at shutdown
    (each then records its failure, as a cancelled background task does)."""
    running: set[asyncio.Task[None]] = set()

    async def resubmit(article_id: int) -> None:
        job = process_article_async(
            article_id,
            sessionmaker,
            settings.summarizer,
            timeout=settings.summary_timeout,
            retry=retry_policy(settings),
        )
        task = asyncio.create_task(job)
        running.add(task)
        task.add_done_callback(running.discard)

    try:
        yield None, resubmit
    finally:
        for task in list(running):
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


@asynccontextmanager
async def queue_runner(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[tuple[AsyncBroker, Resubmit]]:
    """Queue mode: the broker's client; with the in-memory broker, its worker too."""
    if settings.redis_url is not None:
        # The broker's startup reaches Redis too, but fails with a bare ConnectionError that
        # names no server; check_redis fails it naming the URL (redacted), as in every service.
        await check_redis(settings.redis_url)
    broker = make_broker(settings)
    # What the job reads (queue.process_article); only used where jobs run in this process.
    broker.state.settings = settings
    broker.state.sessionmaker = sessionmaker
    await broker.startup()

    async def resubmit(article_id: int) -> None:
        await enqueue(broker, article_id)

    try:
        yield broker, resubmit
    finally:
        if isinstance(broker, InMemoryBroker):
            try:
                async with asyncio.timeout(JOBS_SHUTDOWN_GRACE):
                    await broker.wait_all()
            except TimeoutError:
                logger.warning("jobs still running at shutdown; their claims will be recovered")
        await broker.shutdown()


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel `task` and wait until it has ended."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
