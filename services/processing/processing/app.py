"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from processing import errors
from processing.routes import router, stats_router
from processing.settings import Settings
from processing.storage import create_engine, create_sessionmaker, create_tables


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own pool,
        # bound to the event loop that serves it.
        engine = create_engine(settings.database_url)
        try:
            await create_tables(engine)
            yield {"settings": settings, "sessionmaker": create_sessionmaker(engine)}
        finally:
            await engine.dispose()

    app = FastAPI(title="Processing", lifespan=lifespan)
    errors.install(app)
    app.include_router(router)
    app.include_router(stats_router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
