"""Pools created once in the lifespan: injected fakes, closing on shutdown, patching done right.

The article's lifespan test at its smallest, without the kit (lifespan state, `LifespanManager`,
the awaited factory patched with `new=AsyncMock(...)`, shutdown asserted): examples/lifespan/.
"""

from unittest.mock import AsyncMock, patch

import httpx
import pytest
from fakeredis import FakeAsyncRedis, FakeServer
from fastapi import FastAPI
from sqlalchemy import event, select

from fastapi_testkit import lifespan_client
from fastapi_testkit.process import free_port
from gateway.app import create_app
from gateway.dependencies import HttpClient, RedisDep, Sessionmaker, SettingsDep
from gateway.models import ProxiedRequest
from gateway.redis_client import RedisUnavailableError
from gateway.settings import Settings
from gateway.upstream import create_http_client

pytestmark = pytest.mark.lifespan


async def test_the_lifespan_hands_its_pools_to_requests(app: FastAPI) -> None:
    """The settings pointed the pools at fakes (a transport, a SQLite file, fakeredis); the very
    objects the lifespan yielded are what a request's dependencies get, and what the proxy uses."""
    seen: dict[str, object] = {}

    @app.get("/probe")
    async def probe(
        http_client: HttpClient, redis: RedisDep, sessionmaker: Sessionmaker, settings: SettingsDep
    ) -> None:
        seen.update(http_client=http_client, redis=redis, sessionmaker=sessionmaker, settings=settings)

    async with lifespan_client(app) as client:
        assert (reply := await client.get("/probe")).status_code == 200, reply.text
        state = client.state
        with patch.object(state["http_client"], "send", wraps=state["http_client"].send) as send:
            assert (reply := await client.get("/articles/x")).status_code == 200, reply.text

    assert all(seen[name] is state[name] for name in ("http_client", "redis", "sessionmaker", "settings")), seen
    send.assert_awaited_once()
    async with state["sessionmaker"]() as session:  # the request log went through the same engine
        assert [r.path for r in (await session.scalars(select(ProxiedRequest))).all()] == ["/x"]


async def test_the_pools_are_created_once_not_per_request(settings: Settings, app: FastAPI) -> None:
    with patch("gateway.app.create_http_client", wraps=create_http_client) as factory:
        async with lifespan_client(app) as client:
            for _ in range(3):
                await client.get("/articles/x")

    factory.assert_called_once()


async def test_shutdown_closes_the_client_redis_and_engine(app: FastAPI) -> None:
    async with lifespan_client(app) as client:
        http_client: httpx.AsyncClient = client.state["http_client"]
        redis = client.state["redis"]
        engine = client.state["sessionmaker"].kw["bind"]
        disposed: list[object] = []
        event.listen(engine.sync_engine, "engine_disposed", disposed.append)
        close_redis = AsyncMock(wraps=redis.aclose)
        redis.aclose = close_redis  # the lifespan closes this very object
        open_before_shutdown = not http_client.is_closed

    assert open_before_shutdown
    assert http_client.is_closed
    close_redis.assert_awaited_once()
    assert disposed == [engine.sync_engine]


async def test_patching_the_redis_factory_done_right(settings: Settings, app: FastAPI) -> None:
    """The article patched `aioredis.from_url` with `return_value=` and an AsyncMock result.

    `open_redis` is awaited, so the patch must be awaitable and return the fake: `new=AsyncMock(
    return_value=fake)`. Patch where the name is looked up (`gateway.app`), not where it was
    defined. Patching suits a one-off like this; for every other test, `create_app`'s settings
    (and its `transport` argument) inject fakes without touching module globals.
    """
    fake = FakeAsyncRedis(server=FakeServer())
    with patch("gateway.app.open_redis", new=AsyncMock(return_value=fake)) as open_redis:
        async with lifespan_client(app) as client:
            assert client.state["redis"] is fake
            await client.get("/articles/x")  # the rate limiter counts in the fake

    open_redis.assert_awaited_once_with(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        pool_timeout=settings.redis_pool_timeout,
    )
    assert await fake.keys("ratelimit:*")


async def test_an_unreachable_redis_fails_the_startup(settings: Settings) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings.model_copy(update={"redis_url": url}))

    with pytest.raises(RedisUnavailableError, match=f"Redis at {url} did not answer"):
        async with lifespan_client(app):
            pass  # pragma: no cover
