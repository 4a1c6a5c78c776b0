from collections.abc import Iterator
from dataclasses import dataclass
from unittest.mock import AsyncMock, MagicMock, patch

import httpx
import pytest
from asgi_lifespan import LifespanManager

from lifespan_app import DATABASE_URL, REDIS_URL, app


@dataclass
class Pools:
    create_pool: AsyncMock
    from_url: MagicMock
    pool: AsyncMock
    redis: AsyncMock


@pytest.fixture
def pools() -> Iterator[Pools]:
    pool, redis = AsyncMock(), AsyncMock()
    pool.fetchval.return_value = 3
    redis.incr.return_value = 1
    # create_pool is awaited: new=AsyncMock(...). Redis.from_url is not: a plain return_value.
    with (
        patch("lifespan_app.asyncpg.create_pool", new=AsyncMock(return_value=pool)) as create_pool,
        patch("lifespan_app.Redis.from_url", return_value=redis) as from_url,
    ):
        yield Pools(create_pool, from_url, pool, redis)


async def test_requests_use_what_the_lifespan_opened(pools: Pools) -> None:
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.get("/api/stats")

    assert response.status_code == 200, response.text
    assert response.json() == {"articles": 3, "visits": 1}
    pools.create_pool.assert_awaited_once_with(DATABASE_URL)
    pools.from_url.assert_called_once_with(REDIS_URL)
    pools.pool.fetchval.assert_awaited_once_with("SELECT count(*) FROM articles")


async def test_shutdown_closes_what_startup_opened(pools: Pools) -> None:
    async with LifespanManager(app):
        pools.pool.close.assert_not_awaited()

    pools.pool.close.assert_awaited_once_with()
    pools.redis.aclose.assert_awaited_once_with()
