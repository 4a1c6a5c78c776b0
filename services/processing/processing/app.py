"""The app factory and its lifespan."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker, InMemoryBroker

from processing.models import Base
from processing.queue import enqueue, make_broker, retry_policy
from processing.recovery import Resubmit, recover_forever
from processing.redis_client import open_redis
from processing.routes import router, stats_router
from processing.settings import Settings
from processing.tasks import process_article_async
from service_runtime import errors
from service_runtime.sql import DATABASE_LOST, open_database

logger = logging.getLogger(__name__)

# At shutdown, seconds the in-memory broker's running jobs get to finish; what is left stays
# claimed in the database and is recovered after the lease.
JOBS_SHUTDOWN_GRACE = 3


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    broker: AsyncBroker | None  # queue mode only


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own pool,
        # bound to the event loop that serves it.
        async with open_database(settings.database_url, Base.metadata) as sessionmaker:
            runner = queue_runner if settings.mode == "queue" else background_runner
            async with runner(settings, sessionmaker) as (broker, resubmit):
                recovery = asyncio.create_task(
                    recover_forever(sessionmaker, settings.lease, settings.recovery_interval, resubmit)
                )
                try:
                    yield {"settings": settings, "sessionmaker": sessionmaker, "broker": broker}
                finally:
                    recovery.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await recovery

    app = FastAPI(title="Processing", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    errors.install(app, {**errors.REFUSALS, **DATABASE_LOST})
    app.include_router(router)
    app.include_router(stats_router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


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
        # Fail the startup, naming the URL, if Redis does not answer (redis_client.py).
        await (await open_redis(settings.redis_url)).aclose()
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
