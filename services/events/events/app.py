"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from events.errors import REDIS_LOST
from events.hub import TopicHub
from events.redis_client import open_redis, redis_options
from events.routes import router
from events.settings import Settings
from events.storage import TopicStreams
from events.subscribers import Subscribers
from service_runtime import errors


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`."""

    settings: Settings
    streams: TopicStreams
    hub: TopicHub
    subscribers: Subscribers


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own
        # connection pool, bound to the event loop that serves it.
        redis = await open_redis(settings.redis_url, **redis_options(settings))
        streams = TopicStreams(redis, max_length=settings.stream_max_length)
        # The reader's XREAD blocks for the keep-alive interval, which the socket timeout outlasts
        # (redis_options); the keep-alives themselves are each stream's own (hub.py).
        hub = TopicHub(
            streams,
            block=settings.keepalive_interval,
            buffer=settings.subscriber_buffer,
            replay_slots=settings.replay_slots,
        )
        try:
            yield {"settings": settings, "streams": streams, "hub": hub, "subscribers": Subscribers()}
        finally:
            await hub.aclose()
            await redis.aclose()

    app = FastAPI(title="Events", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    app.include_router(router)

    errors.install(app, {**errors.REFUSALS, **REDIS_LOST})

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
