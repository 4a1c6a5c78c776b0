"""The app factory and its lifespan, which owns the gateway's three pools."""

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from ipaddress import IPv4Network, IPv6Network
from typing import TypedDict

import httpx
from fastapi import FastAPI, status
from fastapi.responses import JSONResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.dependencies import HttpClient, RedisDep, Sessionmaker, SettingsDep
from gateway.health import check_all
from gateway.models import Base
from gateway.ratelimit import RateLimiter
from gateway.redis_client import open_redis
from gateway.routes import router
from gateway.settings import Settings
from gateway.streams import StreamSlots
from gateway.telemetry import Metrics, RequestLog
from gateway.upstream import create_http_client, create_stream_client
from service_runtime import errors
from service_runtime.sql import DATABASE_LOST, open_database


class State(TypedDict):
    """What the lifespan hands to every request, as `request.state.<key>`.

    Lifespan state rather than the article's `app.state`: it exists only while the lifespan
    runs, each app (and each test's app) has its own, and a request that runs without the
    lifespan fails loudly instead of finding a pool left over from another test.
    """

    settings: Settings
    http_client: httpx.AsyncClient
    stream_client: httpx.AsyncClient
    redis: Redis
    sessionmaker: async_sessionmaker[AsyncSession]
    rate_limiter: RateLimiter
    stream_slots: StreamSlots
    trusted_networks: list[IPv4Network | IPv6Network]
    metrics: Metrics
    request_log: RequestLog


def create_app(settings: Settings | None = None, *, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the app. `transport` replaces the network for upstream calls (tests only)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        async with AsyncExitStack() as stack:
            yield await open_state(settings, transport, stack)

    app = FastAPI(title="Gateway", lifespan=lifespan)
    errors.install(app, DATABASE_LOST)
    # /health before the router: the proxy's catch-all routes must not see it first.
    app.get("/health")(health)
    app.include_router(router)
    return app


async def open_state(settings: Settings, transport: httpx.AsyncBaseTransport | None, stack: AsyncExitStack) -> State:
    """Each pool created once and shared by every request (a client per request would pay a
    new connection, and TLS handshake, every time); each one's close pushed on `stack`, which
    runs them in reverse: the request log's queue is written before Redis and the engine go,
    and the HTTP clients close last.
    """
    http_client = await stack.enter_async_context(create_http_client(settings, transport))
    stream_client = await stack.enter_async_context(create_stream_client(settings, transport))
    sessionmaker = await stack.enter_async_context(open_database(settings.database_url, Base.metadata))
    redis = await open_redis(
        settings.redis_url, max_connections=settings.redis_max_connections, pool_timeout=settings.redis_pool_timeout
    )
    await stack.enter_async_context(aclosing(redis))
    metrics = Metrics()
    request_log = RequestLog(
        sessionmaker, metrics, queue_size=settings.log_queue_size, batch_size=settings.log_batch_size
    )
    request_log.start()
    stack.push_async_callback(request_log.aclose)
    return {
        "settings": settings,
        "http_client": http_client,
        "stream_client": stream_client,
        "redis": redis,
        "sessionmaker": sessionmaker,
        "rate_limiter": RateLimiter(redis, limit=settings.rate_limit, window=settings.rate_limit_window),
        "stream_slots": StreamSlots(total=settings.max_streams, per_client=settings.max_streams_per_client),
        "trusted_networks": settings.trusted_networks(),
        "metrics": metrics,
        "request_log": request_log,
    }


async def health(
    client: HttpClient, redis: RedisDep, sessionmaker: Sessionmaker, settings: SettingsDep
) -> JSONResponse:
    """200 when every upstream, Redis and the database answer; 503 naming what does not."""
    dependencies = await check_all(client, settings.upstreams(), redis, sessionmaker)
    healthy = all(state == "ok" for state in dependencies.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", "dependencies": dependencies},
        status_code=status.HTTP_200_OK if healthy else status.HTTP_503_SERVICE_UNAVAILABLE,
    )
