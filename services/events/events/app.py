"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypedDict

from fastapi import FastAPI

from events.errors import REDIS_LOST
from events.hub import TopicHub
from events.redis_client import open_redis
from events.routes import router
from events.settings import Settings
from events.storage import TopicStreams
from events.subscribers import Subscribers
from service_runtime import errors

# Seconds a pooled connection may sit idle before redis-py PINGs it on its next use: one the
# server (or a proxy, or a NAT) dropped in between fails the PING and is replaced, instead of
# failing the request that took it.
HEALTH_CHECK_INTERVAL = 30


def redis_options(settings: Settings) -> dict[str, Any]:
    """How the Redis client is configured: what `open_redis` is given, besides the URL.

    Decoded replies: ids, names and JSON are text. `max_connections` bounds the pool, and with
    it the streams that can wait at once (settings.py). The socket timeout must outlast the
    longest XREAD BLOCK (the keep-alive interval), or an idle stream times out and ends.
    """
    options: dict[str, Any] = {"decode_responses": True, "max_connections": settings.redis_max_connections}
    if settings.redis_url is None:
        # fakeredis has no socket to time out, and its replies fail redis-py's PING health
        # check ("Bad response from PING health check"): the network options are a server's.
        return options
    return options | {
        "socket_timeout": settings.keepalive_interval + settings.redis_timeout_margin,
        "socket_connect_timeout": settings.redis_timeout_margin,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


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
