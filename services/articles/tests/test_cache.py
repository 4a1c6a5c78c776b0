"""Cache-aside through Redis: with the app's real (fake or real) Redis, and with a mock."""

from collections.abc import Iterator
from typing import Any
from unittest.mock import AsyncMock

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from articles.cache import ArticleCache
from articles.dependencies import get_cache
from articles.schemas import ArticleRead
from fastapi_testkit import LifespanClient, override_dependencies

from .helpers import AuthHeaders, PostArticle

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


@pytest.fixture
def cache(client: LifespanClient) -> ArticleCache:
    """The cache the app is using: fakeredis by default, the real server with --backend real."""
    article_cache: ArticleCache = client.state["cache"]
    return article_cache


async def test_a_miss_fills_the_cache(client: LifespanClient, cache: ArticleCache, post_article: PostArticle) -> None:
    created = await post_article()
    assert await cache.get(created["id"]) is None  # creating does not cache

    await client.get(f"/api/articles/{created['id']}")

    assert await cache.get(created["id"]) == ArticleRead.model_validate(created)
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
    await cache.set(ArticleRead.model_validate(created | {"title": "From the cache"}))

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

    The article's mock returned bytes the app would not parse, and its final assertion
    (`get.call_count == 2`) holds whether or not the database was skipped. Here the mock has the
    cache's real interface (`spec=`), a hit returns what the real cache returns, and the test
    checks what each request did.
    """
    created = await post_article()
    article = ArticleRead.model_validate(created)
    mock_cache = AsyncMock(spec=ArticleCache)
    mock_cache.get.return_value = None

    with override_dependencies(app, {get_cache: lambda: mock_cache}):
        miss = await client.get(f"/api/articles/{article.id}")
        mock_cache.set.assert_awaited_once_with(article)

        mock_cache.get.return_value = article.model_copy(update={"title": "Cached"})
        statements.count = 0
        hit = await client.get(f"/api/articles/{article.id}")

    assert miss.json()["title"] == "A title"
    assert hit.json()["title"] == "Cached"
    assert statements.count == 0
    assert mock_cache.set.await_count == 1  # the hit did not write the cache again
