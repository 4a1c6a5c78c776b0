"""The article's claims about async testing, each shown by a test named for it (or its correction).

- "TestClient: no true concurrency": from a test, requests overlap under the async client and
  never under TestClient (whose calls block the test until each response is back).
- "Use AsyncMock (not MagicMock)": awaiting a MagicMock's result is a TypeError.
- "in-memory SQLite" with StaticPool, its recipe: concurrent sessions lose rows silently.
- "asyncpg ... need an event loop that the sync client doesn't provide cleanly": an engine
  used from the test's loop, then from TestClient's (its portal runs the app on a loop in
  another thread): asyncpg fails, aiosqlite does not; the engine in the lifespan works on both.
"""

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from articles.cache import ArticleCache
from articles.dependencies import get_cache, get_session
from articles.models import Article, Base
from fastapi_testkit import Backend, LifespanClient, override_dependencies

from .helpers import AuthHeaders, PostArticle

with warnings.catch_warnings():
    # Starlette 1.x warns, on import, that TestClient will move to httpx2; this suite stays on
    # httpx (what users have). Only that import is covered; any other warning is still an error.
    warnings.filterwarnings("ignore", message=".*httpx2.*")
    from fastapi.testclient import TestClient

REQUESTS = 5
# How long the probe route waits for the other requests to arrive; reached only where they
# cannot overlap (TestClient from one thread): bounded, so that case costs REQUESTS x this.
OVERLAP_WAIT = 0.2


class OverlapProbe:
    """A route that records how many requests are inside it at once (`peak`).

    Each request waits until `expected` requests are in, or OVERLAP_WAIT seconds: where
    requests can overlap they all meet, where they cannot each one waits alone.
    """

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.inside = self.peak = 0
        self.all_in = asyncio.Event()
        self.app = FastAPI()
        self.app.get("/probe")(self.probe)

    async def probe(self) -> dict[str, int]:
        self.inside += 1
        self.peak = max(self.peak, self.inside)
        if self.inside >= self.expected:
            self.all_in.set()
        try:
            async with asyncio.timeout(OVERLAP_WAIT):
                await self.all_in.wait()
        except TimeoutError:
            pass
        finally:
            self.inside -= 1
        return {"peak": self.peak}


@pytest.mark.concurrency
async def test_requests_overlap_under_the_async_client() -> None:
    probe = OverlapProbe(REQUESTS)
    transport = httpx.ASGITransport(app=probe.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = await asyncio.gather(*(client.get("/probe") for _ in range(REQUESTS)))

    assert [r.status_code for r in responses] == [200] * REQUESTS
    assert probe.peak == REQUESTS


@pytest.mark.concurrency
def test_testclient_gives_no_true_concurrency() -> None:
    """A sync test can only send one request after another: each blocks until its response."""
    probe = OverlapProbe(REQUESTS)
    with TestClient(probe.app) as client:
        responses = [client.get("/probe") for _ in range(REQUESTS)]

    assert [r.status_code for r in responses] == [200] * REQUESTS
    assert probe.peak == 1


@pytest.mark.concurrency
def test_testclient_from_several_threads_does_overlap() -> None:
    """The claim's limit: TestClient in a `with` block runs the app on one loop in one portal
    thread, and calls from several test threads do meet there. Concurrency under TestClient
    takes threads in the test; under the async client, a `gather`."""
    probe = OverlapProbe(REQUESTS)
    with TestClient(probe.app) as client, ThreadPoolExecutor(REQUESTS) as pool:
        responses = list(pool.map(lambda _: client.get("/probe"), range(REQUESTS)))

    assert [r.status_code for r in responses] == [200] * REQUESTS
    assert probe.peak == REQUESTS


@pytest.mark.cache
async def test_awaiting_a_magicmock_fails_where_an_asyncmock_works(
    app: FastAPI, client: LifespanClient, post_article: PostArticle
) -> None:
    """The route awaits `cache.get(...)`: a bare MagicMock's result cannot be awaited (a
    TypeError, raised out of the in-process client); an AsyncMock's can, and records the await.
    (Given a `spec`, MagicMock itself makes the spec's `async def` methods AsyncMocks.)"""
    article = await post_article()
    assert isinstance(MagicMock(spec=ArticleCache).get, AsyncMock)
    with (
        override_dependencies(app, {get_cache: lambda: MagicMock()}),
        pytest.raises(TypeError, match="can't be used in 'await' expression"),
    ):
        await client.get(f"/api/articles/{article['id']}")

    cache = AsyncMock(spec=ArticleCache)
    cache.get.return_value = None
    with override_dependencies(app, {get_cache: lambda: cache}):
        response = await client.get(f"/api/articles/{article['id']}")

    assert response.status_code == 200, response.text
    cache.get.assert_awaited_once_with(article["id"])
    cache.set.assert_awaited_once()


@pytest_asyncio.fixture
async def static_pool_sessionmaker() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """The article's test database: in-memory SQLite, one connection shared by all (StaticPool)."""
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.mark.concurrency
@pytest.mark.db
async def test_in_memory_sqlite_with_static_pool_loses_rows_under_concurrent_sessions(
    app: FastAPI,
    client: LifespanClient,
    auth: AuthHeaders,
    static_pool_sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """Every request has its own session, but all share StaticPool's one connection, so their
    transactions interleave on it: one session's commit or rollback ends the others'. Every
    POST answers 201, yet fewer ids come back, and fewer rows are stored, than were created.
    A file database (the kit's `database_url`, test_concurrency.py) keeps every row."""

    async def static_pool_session() -> AsyncIterator[AsyncSession]:
        async with static_pool_sessionmaker() as session:
            yield session

    with override_dependencies(app, {get_session: static_pool_session}):
        responses = await asyncio.gather(
            *(client.post("/api/articles/", json={"title": f"T{i}", "content": "c"}, headers=auth()) for i in range(20))
        )
    async with static_pool_sessionmaker() as session:
        stored = await session.scalar(select(func.count()).select_from(Article))

    assert [r.status_code for r in responses] == [201] * 20
    ids = {r.json()["id"] for r in responses}
    assert len(ids) < 20, "every concurrent POST got an id of its own: StaticPool lost nothing"
    assert stored is not None
    assert stored < 20


@pytest.fixture
def used_engine_app(app: FastAPI, database_url: str) -> Iterator[tuple[FastAPI, Any]]:
    """The app with its sessions from an engine the test creates (not the lifespan's)."""
    engine = create_async_engine(database_url)
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False)

    async def outside_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    with override_dependencies(app, {get_session: outside_session}):
        yield app, engine


@pytest.mark.db
async def test_an_async_driver_under_testclient_fails_when_its_engine_was_used_on_another_loop(
    used_engine_app: tuple[FastAPI, Any], backend: Backend
) -> None:
    """The engine pools a connection made on this test's loop; TestClient then runs the app on
    its portal's loop, in another thread, and the route gets that connection back. asyncpg's
    connection belongs to the loop that made it: "attached to a different loop". aiosqlite runs
    each connection in a thread of its own and answers whichever loop awaits it: no error."""
    app, engine = used_engine_app
    async with engine.connect() as connection:  # the test's loop: a connection is now pooled
        await connection.run_sync(Base.metadata.create_all)

    def list_articles() -> tuple[int, str]:
        with TestClient(app) as client:
            response = client.get("/api/articles/")
        return int(response.status_code), str(response.text)

    try:
        if backend is Backend.REAL:
            with pytest.raises(RuntimeError, match="attached to a different loop"):
                list_articles()
        else:
            status, text = list_articles()
            assert status == 200, text
    finally:
        await engine.dispose()


@pytest.mark.db
def test_the_engine_in_the_lifespan_works_under_testclient(app: FastAPI, auth: AuthHeaders) -> None:
    """The fix, on both drivers: the lifespan creates the engine on TestClient's own loop."""
    with TestClient(app) as client:
        created = client.post(
            "/api/articles/", json={"title": "T", "content": "c", "status": "published"}, headers=auth()
        )
        listed = client.get("/api/articles/")
        loop_thread = client.portal.call(lambda: threading.current_thread()) if client.portal else None

    assert created.status_code == 201, created.text
    assert [a["title"] for a in listed.json()] == ["T"]
    assert loop_thread is not threading.current_thread()  # the app ran on a loop in another thread
