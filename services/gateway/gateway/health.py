"""Is every dependency answering? Used by GET /health."""

import asyncio

import httpx
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

CHECK_TIMEOUT = 2.0


async def _upstream(client: httpx.AsyncClient, base_url: str) -> str:
    try:
        response = await client.get(f"{base_url.rstrip('/')}/health", timeout=CHECK_TIMEOUT)
    except httpx.HTTPError as error:
        return f"unreachable: {type(error).__name__}"
    return "ok" if response.status_code == 200 else f"unhealthy: HTTP {response.status_code}"


async def _redis(redis: Redis) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await redis.ping()
    except Exception as error:  # any failure means "not ok"; the name says which
        return f"unreachable: {type(error).__name__}"
    return "ok"


async def _database(sessionmaker: async_sessionmaker[AsyncSession]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT), sessionmaker() as session:
            await session.execute(text("SELECT 1"))
    except Exception as error:  # any failure means "not ok"; the name says which
        return f"unreachable: {type(error).__name__}"
    return "ok"


async def check_all(
    client: httpx.AsyncClient,
    upstreams: dict[str, str],
    redis: Redis,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> dict[str, str]:
    """Each dependency's state, checked concurrently, so one slow check does not add up."""
    names = [*upstreams, "redis", "database"]
    checks = [*(_upstream(client, url) for url in upstreams.values()), _redis(redis), _database(sessionmaker)]
    return dict(zip(names, await asyncio.gather(*checks), strict=True))
