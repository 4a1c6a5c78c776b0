"""What routes ask for, read from the lifespan state, so tests can override any of them.

Every dependency here is `async def`, though most await nothing: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that cost a cached read about a third
of its rate (bench/README.md). None of them blocks, so none needs the thread.
"""

from typing import Annotated

import httpx
from fastapi import Depends, HTTPException, Request, status
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import HTTPConnection

from gateway.identity import client_identity
from gateway.ratelimit import RateLimiter
from gateway.redis_client import PoolExhaustedError
from gateway.settings import Settings
from gateway.streams import StreamSlots
from gateway.telemetry import Metrics, RequestLog

# Seconds a request refused because every Redis connection was busy is told to wait: the pool's
# wait is short, so is the overload it measures.
BUSY_RETRY_AFTER = 1


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_http_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.http_client
    return client


async def get_stream_client(request: Request) -> httpx.AsyncClient:
    client: httpx.AsyncClient = request.state.stream_client
    return client


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return sessionmaker


async def get_redis(request: Request) -> Redis:
    redis: Redis = request.state.redis
    return redis


async def get_rate_limiter(request: Request) -> RateLimiter:
    limiter: RateLimiter = request.state.rate_limiter
    return limiter


async def get_telemetry(request: Request) -> tuple[Metrics, RequestLog]:
    return request.state.metrics, request.state.request_log


def identity(connection: HTTPConnection) -> str:
    """Who `connection` counts as, for the rate limit and the stream caps (identity.py says why)."""
    settings: Settings = connection.state.settings
    networks = connection.state.trusted_networks
    return client_identity(connection, settings.api_keys, networks)


def stream_slots(connection: HTTPConnection) -> StreamSlots:
    slots: StreamSlots = connection.state.stream_slots
    return slots


async def enforce_rate_limit(
    connection: HTTPConnection, limiter: Annotated[RateLimiter, Depends(get_rate_limiter)]
) -> None:
    """Count `connection` (a request or a WebSocket handshake); a 429 or 503 with Retry-After past the limit."""
    try:
        verdict = await limiter.hit(identity(connection))
    except PoolExhaustedError:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="The gateway is busy; try again",
            headers={"Retry-After": str(BUSY_RETRY_AFTER)},
        ) from None
    if not verdict.allowed:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Rate limit exceeded",
            headers={"Retry-After": str(verdict.retry_after)},
        )


SettingsDep = Annotated[Settings, Depends(get_settings)]
HttpClient = Annotated[httpx.AsyncClient, Depends(get_http_client)]
StreamClient = Annotated[httpx.AsyncClient, Depends(get_stream_client)]
RedisDep = Annotated[Redis, Depends(get_redis)]
Sessionmaker = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
Telemetry = Annotated[tuple[Metrics, RequestLog], Depends(get_telemetry)]
RateLimited = Depends(enforce_rate_limit)
