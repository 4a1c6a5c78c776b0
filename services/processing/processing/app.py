"""The app factory and its lifespan."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from processing.models import Base
from processing.recovery import recover_forever
from processing.routes import router, stats_router
from processing.runners import background_runner, queue_runner, stop
from processing.settings import Settings
from service_runtime import errors
from service_runtime.sql import DATABASE_LOST, open_database


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
        # bound to the event loop that serves it. The stack undoes each step in reverse.
        async with AsyncExitStack() as stack:
            sessionmaker = await stack.enter_async_context(open_database(settings.database_url, Base.metadata))
            runner = queue_runner if settings.mode == "queue" else background_runner
            broker, resubmit = await stack.enter_async_context(runner(settings, sessionmaker))
            recovery = recover_forever(sessionmaker, settings.lease, settings.recovery_interval, resubmit)
            stack.push_async_callback(stop, asyncio.create_task(recovery))
            yield {"settings": settings, "sessionmaker": sessionmaker, "broker": broker}

    app = FastAPI(title="Processing", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    errors.install(app, {**errors.REFUSALS, **DATABASE_LOST})
    app.include_router(router)
    app.include_router(stats_router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
