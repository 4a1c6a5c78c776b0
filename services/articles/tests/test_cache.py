"""Cache-aside through Redis: with the app's real (fake or real) Redis, and with a mock.

The article's mocked-cache test at its smallest, without the kit: examples/dependency_overrides/.
"""

import asyncio
import json
from collections.abc import Awaitable, Iterator
from typing import Any, cast
from unittest.mock import AsyncMock

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from articles.cache import ArticleCache
from articles.dependencies import get_cache, get_sessionmaker
from articles.schemas import ArticleRead
from fastapi_testkit import LifespanClient, LiveServer, override_dependencies

from .helpers import AuthHeaders, PostArticle

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
pytestmark = pytest.mark.cache


class StatementCounter:
    """Counts the SQL statements the app's engine sends, to prove a request never touched it."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


@pytest.fixture
def statements(client: LifespanClient) -> Iterator[StatementCounter]:
    engine = client.state["sessionmaker"].kw["bind"].sync_engine
    counter = StatementCounter()
    event.listen(engine, "before_cursor_execute", counter)
    yield counter
    event.remove(engine, "before_cursor_execute", counter)


async def test_a_miss_fills_the_cache(client: LifespanClient, cache: ArticleCache, post_article: PostArticle) -> None:
    created = await post_article()
    assert await cache.get(created["id"]) is None  # creating does not cache

    await client.get(f"/api/articles/{created['id']}")

    assert ArticleRead.model_validate_json(await cache.get(created["id"]) or b"") == ArticleRead.model_validate(created)
    assert 0 < await cache.redis.ttl(cache.key(created["id"])) <= 60  # the TTL from settings


async def test_a_hit_does_not_touch_the_database(
    client: LifespanClient, post_article: PostArticle, statements: StatementCounter
) -> None:
    created = await post_article()
    url = f"/api/articles/{created['id']}"
    await client.get(url)  # the miss
    statements.count = 0

    response = await client.get(url)  # the hit

    assert response.json() == created
    assert statements.count == 0


async def test_the_cache_answers_even_if_the_row_changed_behind_its_back(
    client: LifespanClient, cache: ArticleCache, post_article: PostArticle
) -> None:
    """Proof from the other side: a hit serves what Redis holds, whatever the database says."""
    created = await post_article(title="Real")
    await cache.set(
        created["id"], ArticleRead.model_validate(created | {"title": "From the cache"}).model_dump_json().encode()
    )

    response = await client.get(f"/api/articles/{created['id']}")

    assert response.json()["title"] == "From the cache"


async def test_drafts_are_never_cached(
    client: LifespanClient, cache: ArticleCache, auth: AuthHeaders, post_article: PostArticle
) -> None:
    draft = await post_article(status="draft")

    assert (reply := await client.get(f"/api/articles/{draft['id']}", headers=auth("alice"))).status_code == 200, (
        reply.text
    )

    assert await cache.get(draft["id"]) is None


async def test_an_update_invalidates_the_cached_article(
    client: LifespanClient, cache: ArticleCache, auth: AuthHeaders, post_article: PostArticle
) -> None:
    created = await post_article(title="Old")
    url = f"/api/articles/{created['id']}"
    await client.get(url)
    assert await cache.get(created["id"]) is not None

    await client.patch(url, json={"title": "New"}, headers=auth("alice"))

    assert await cache.get(created["id"]) is None
    assert (await client.get(url)).json()["title"] == "New"


async def test_unpublishing_hides_the_article_at_once(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle
) -> None:
    created = await post_article()
    url = f"/api/articles/{created['id']}"
    await client.get(url)

    await client.patch(url, json={"status": "draft"}, headers=auth("alice"))

    assert (reply := await client.get(url)).status_code == 404, reply.text  # not served stale from the cache


async def test_a_delete_invalidates_the_cached_article(
    client: LifespanClient, cache: ArticleCache, auth: AuthHeaders, post_article: PostArticle
) -> None:
    created = await post_article()
    url = f"/api/articles/{created['id']}"
    await client.get(url)

    await client.delete(url, headers=auth("alice"))

    assert await cache.get(created["id"]) is None
    assert (reply := await client.get(url)).status_code == 404, reply.text


async def test_cache_aside_with_a_mock_cache(
    app: FastAPI, client: LifespanClient, post_article: PostArticle, statements: StatementCounter
) -> None:
    """The article's AsyncMock variant, corrected.

    The article's mock returned bytes that were not an article, and its final assertion
    (`get.call_count == 2`) holds whether or not the database was skipped. Here the mock has the
    cache's real interface (`spec=`), a hit returns what the real cache returns (an article's
    JSON, served as it is), and the test checks what each request did.
    """
    created = await post_article()
    article = ArticleRead.model_validate(created)
    mock_cache = AsyncMock(spec=ArticleCache)
    mock_cache.get.return_value = None

    with override_dependencies(app, {get_cache: lambda: mock_cache}):
        miss = await client.get(f"/api/articles/{article.id}")
        mock_cache.set.assert_awaited_once_with(article.id, article.model_dump_json().encode())

        mock_cache.get.return_value = article.model_copy(update={"title": "Cached"}).model_dump_json().encode()
        statements.count = 0
        hit = await client.get(f"/api/articles/{article.id}")

    assert miss.json()["title"] == "A title"
    assert hit.json()["title"] == "Cached"
    assert statements.count == 0
    assert mock_cache.set.await_count == 1  # the hit did not write the cache again


class ReaderBetween(ArticleCache):
    """The app's cache, except that `invalidate` lets a concurrent reader run before it returns.

    A race made deterministic: the write pauses right after clearing the entry until the reader
    has done a whole GET. If the write still has its commit ahead of it (invalidation before the
    commit), that GET misses, reads the old row and caches it, and the stale entry outlives the
    write by the TTL. No sleeps: two events order the two requests.
    """

    def __init__(self, real: ArticleCache) -> None:
        super().__init__(real.redis, ttl=real.ttl)
        self.invalidated = asyncio.Event()
        self.reader_done = asyncio.Event()

    async def invalidate(self, article_id: int) -> None:
        await super().invalidate(article_id)
        self.invalidated.set()
        await self.reader_done.wait()


async def _write_with_a_reader_in_between(
    app: FastAPI, client: LifespanClient, cache: ArticleCache, write: Awaitable[httpx.Response], url: str
) -> tuple[httpx.Response, httpx.Response]:
    paused = ReaderBetween(cache)

    async def reader() -> httpx.Response:
        await paused.invalidated.wait()
        try:
            return await client.get(url)
        finally:
            paused.reader_done.set()

    with override_dependencies(app, {get_cache: lambda: paused}):
        async with asyncio.timeout(10):  # a broken orchestration fails here instead of hanging
            written, read = await asyncio.gather(write, reader())
    return written, read


@pytest.mark.parametrize("change", [{"title": "New"}, {"status": "draft"}], ids=["retitle", "unpublish"])
async def test_an_update_invalidates_after_its_commit(
    app: FastAPI,
    client: LifespanClient,
    cache: ArticleCache,
    auth: AuthHeaders,
    post_article: PostArticle,
    change: dict[str, str],
) -> None:
    """A reader between the invalidation and the commit must not re-cache the old row."""
    created = await post_article(title="Old")
    url = f"/api/articles/{created['id']}"
    await client.get(url)  # cached

    patch = client.patch(url, json=change, headers=auth("alice"))
    written, _ = await _write_with_a_reader_in_between(app, client, cache, patch, url)

    assert written.status_code == 200, written.text
    after = await client.get(url)
    if change == {"status": "draft"}:
        assert after.status_code == 404, after.text  # unpublished: not served stale from the cache
    else:
        assert after.json()["title"] == "New"


async def test_a_delete_invalidates_after_its_commit(
    app: FastAPI, client: LifespanClient, cache: ArticleCache, auth: AuthHeaders, post_article: PostArticle
) -> None:
    """A reader between the invalidation and the commit must not re-cache the doomed row."""
    created = await post_article()
    url = f"/api/articles/{created['id']}"
    await client.get(url)  # cached

    delete = client.delete(url, headers=auth("alice"))
    written, _ = await _write_with_a_reader_in_between(app, client, cache, delete, url)

    assert written.status_code == 204, written.text
    assert (after := await client.get(url)).status_code == 404, after.text
    assert await cache.redis.get(cache.key(created["id"])) is None


class CountingSessionmaker:
    """The app's sessionmaker, counting the sessions it opens."""

    def __init__(self, real: async_sessionmaker[AsyncSession]) -> None:
        self.real = real
        self.opened = 0

    def __call__(self) -> AsyncSession:
        self.opened += 1
        return self.real()


async def test_a_hit_opens_no_session(app: FastAPI, client: LifespanClient, post_article: PostArticle) -> None:
    """A hit costs the Redis round trip only; only a miss opens a session."""
    sessions = CountingSessionmaker(client.state["sessionmaker"])
    url = f"/api/articles/{(await post_article())['id']}"

    async def counting() -> async_sessionmaker[AsyncSession]:
        return cast(async_sessionmaker[AsyncSession], sessions)

    with override_dependencies(app, {get_sessionmaker: counting}):
        miss = await client.get(url)
        assert sessions.opened == 1, "the miss must read the database"
        hits = [await client.get(url) for _ in range(3)]

    assert sessions.opened == 1
    assert {hit.content for hit in hits} == {miss.content}


async def test_a_hit_serves_the_cached_bytes_as_they_are(
    client: LifespanClient, cache: ArticleCache, post_article: PostArticle
) -> None:
    """No model round trip: bytes no serialiser would produce (spacing, key order) come back
    untouched, so the hit neither parsed nor re-serialised them."""
    created = await post_article()
    stored = json.dumps(dict(reversed(list(created.items()))), indent=1).encode()
    await cache.set(created["id"], stored)

    response = await client.get(f"/api/articles/{created['id']}")

    assert response.status_code == 200, response.text
    assert response.content == stored
    assert response.headers["content-type"] == "application/json"
    assert response.json() == created


async def test_a_miss_answers_with_the_bytes_it_caches(
    client: LifespanClient, cache: ArticleCache, post_article: PostArticle
) -> None:
    created = await post_article()

    miss = await client.get(f"/api/articles/{created['id']}")

    assert miss.content == await cache.get(created["id"])
    assert miss.json() == created


async def test_a_read_that_finds_the_pool_busy_is_answered_from_the_database(
    client: LifespanClient, post_article: PostArticle
) -> None:
    """Every Redis connection busy past ARTICLES_REDIS_POOL_TIMEOUT: the read is a miss, served
    from the database, never an error and never a wait without end."""
    created = await post_article(title="Busy pool")
    pool = client.state["cache"].redis.connection_pool
    held = [await pool.get_connection() for _ in range(pool.max_connections)]  # as long commands would
    try:
        async with asyncio.timeout(10):
            response = await client.get(f"/api/articles/{created['id']}")
    finally:
        for connection in held:
            await pool.release(connection)

    assert response.status_code == 200, response.text
    assert response.json() == created


@pytest.mark.concurrency
@pytest.mark.real_only(reason="redis-py's pool limits connections to a real server")
async def test_concurrent_cached_reads_past_the_pool_all_answer_200_on_real_redis(
    live_server: LiveServer, auth: AuthHeaders
) -> None:
    """300 concurrent reads of a cached article over real sockets, three times the pool (100):
    each waits for a connection or, past the wait, is answered from the database."""
    async with httpx.AsyncClient(
        base_url=live_server.url, limits=httpx.Limits(max_connections=300), timeout=30
    ) as http:
        body = {"title": "Popular", "content": "c", "status": "published"}
        created = (await http.post("/api/articles/", json=body, headers=auth())).json()
        url = f"/api/articles/{created['id']}"
        assert (await http.get(url)).status_code == 200  # cached now
        answers = await asyncio.gather(*[http.get(url) for _ in range(300)])

    assert [answer.status_code for answer in answers] == [200] * 300
    assert all(answer.json() == created for answer in answers)
