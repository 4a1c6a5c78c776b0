"""Fixtures for the articles suite.

The kit (fastapi_testkit, a pytest plugin) provides `database_url` and `redis_url` (a fresh
database and Redis per test, embedded or real), `client` (an httpx client with the lifespan
running, built on the `app` fixture below) and `live_server`. This file only says how to build
this service's app from them. The same fixtures written out without the kit, to copy:
examples/running_tests/conftest.py.
"""

from typing import Any

import pytest
from fastapi import FastAPI

from articles.app import create_app
from articles.cache import ArticleCache
from articles.settings import Settings
from fastapi_testkit import LifespanClient, create_token

from .helpers import LEEWAY, SECRET, AuthHeaders, PostArticle


@pytest.fixture
def settings(database_url: str, redis_url: str | None) -> Settings:
    # Every field set explicitly, so ARTICLES_* variables in the shell cannot leak into tests.
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        redis_max_connections=100,
        redis_pool_timeout=0.5,
        jwt_secret=SECRET,
        jwt_leeway=LEEWAY,
        cache_ttl=60,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def cache(client: LifespanClient) -> ArticleCache:
    """The cache the app is using: fakeredis by default, the real server with --backend real.

    The name shadows pytest's own `cache` fixture (the cross-run cache), which no test here uses.
    """
    article_cache: ArticleCache = client.state["cache"]
    return article_cache


@pytest.fixture
def auth() -> AuthHeaders:
    """`auth("alice")`: headers carrying a valid token for user alice."""

    def headers(user_id: str = "alice", **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {create_token(user_id, SECRET, **claims)}"}

    return headers


@pytest.fixture
def post_article(client: LifespanClient, auth: AuthHeaders) -> PostArticle:
    """`await post_article(title=..., status="published", author="bob")`: create one, return its JSON."""

    async def post(*, author: str = "alice", **fields: object) -> dict[str, Any]:
        body = {"title": "A title", "content": "Some content", "status": "published"} | fields
        response = await client.post("/api/articles/", json=body, headers=auth(author))
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return post
