"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from events import errors
from events.redis_client import open_redis
from events.routes import router
from events.settings import Settings
from events.storage import TopicStreams
from events.subscribers import Subscribers


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`."""

    settings: Settings
    streams: TopicStreams
    subscribers: Subscribers


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own
        # connection pool, bound to the event loop that serves it.
        # Decoded replies: ids, names and JSON are text. `max_connections` bounds the pool, and
        # with it the streams that can wait at once (settings.py).
        redis = await open_redis(
            settings.redis_url, decode_responses=True, max_connections=settings.redis_max_connections
        )
        try:
            yield {
                "settings": settings,
                "streams": TopicStreams(redis, max_length=settings.stream_max_length),
                "subscribers": Subscribers(),
            }
        finally:
            await redis.aclose()

    app = FastAPI(title="Events", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    app.include_router(router)

    errors.install(app)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
