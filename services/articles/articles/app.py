"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from articles.cache import ArticleCache
from articles.models import Base
from articles.redis_client import open_redis
from articles.routes import router
from articles.settings import Settings
from service_runtime import errors
from service_runtime.sql import DATABASE_LOST, open_database


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`."""

    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]
    cache: ArticleCache


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own pool,
        # bound to the event loop that serves it. The stack closes each in reverse.
        async with AsyncExitStack() as stack:
            sessionmaker = await stack.enter_async_context(open_database(settings.database_url, Base.metadata))
            redis = await open_redis(
                settings.redis_url,
                max_connections=settings.redis_max_connections,
                pool_timeout=settings.redis_pool_timeout,
            )
            await stack.enter_async_context(aclosing(redis))
            yield {
                "settings": settings,
                "sessionmaker": sessionmaker,
                "cache": ArticleCache(redis, ttl=settings.cache_ttl),
            }

    app = FastAPI(title="Articles", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    errors.install(app, {**errors.REFUSALS, **DATABASE_LOST})
    app.include_router(router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
