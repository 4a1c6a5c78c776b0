"""Faults on the real servers: Redis and PostgreSQL drop the service's connections, or Redis goes away.

The cache fails open (docs/articles.md, "When Redis or PostgreSQL fail"): without Redis a read is answered
from the database, a write still commits; PostgreSQL connections the server ended are replaced
before the next request (`pool_pre_ping`), and a request caught in flight is a 503, not a 500.
"""

import asyncio
import logging

import pytest

from articles.app import create_app
from articles.settings import Settings
from fastapi_testkit import LifespanClient, eventually, lifespan_client
from fastapi_testkit.faults import (
    kill_redis_clients,
    sessions_waiting_for_a_lock,
    table_locked,
    tcp_proxy,
    terminate_postgres,
)

from .helpers import SECRET, AuthHeaders, PostArticle

pytestmark = pytest.mark.real_only(reason="kills connections on the real Redis and PostgreSQL servers")


@pytest.mark.cache
async def test_a_read_after_redis_dropped_the_connections_is_served(
    client: LifespanClient, post_article: PostArticle, redis_url: str
) -> None:
    article = await post_article()
    assert (await client.get(f"/api/articles/{article['id']}")).status_code == 200  # now cached

    assert await kill_redis_clients(redis_url, "articles") >= 1

    response = await client.get(f"/api/articles/{article['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == article


@pytest.mark.cache
async def test_without_redis_reads_come_from_the_database_and_writes_commit(
    database_url: str, redis_url: str, auth: AuthHeaders, caplog: pytest.LogCaptureFixture
) -> None:
    async with tcp_proxy(redis_url) as proxy:
        settings = Settings(database_url=database_url, redis_url=proxy.url(redis_url), jwt_secret=SECRET, cache_ttl=60)
        async with lifespan_client(create_app(settings)) as client:
            body = {"title": "T", "content": "C", "status": "published"}
            created = await client.post("/api/articles/", json=body, headers=auth())
            assert created.status_code == 201, created.text
            article_id = created.json()["id"]

            proxy.cut()
            with caplog.at_level(logging.WARNING, logger="articles.cache"):
                read = await client.get(f"/api/articles/{article_id}")
                assert read.status_code == 200, read.text
                changed = await client.patch(f"/api/articles/{article_id}", json={"title": "New"}, headers=auth())
                assert changed.status_code == 200, changed.text
            assert "cache unavailable" in caplog.text

            proxy.restore()
            # The write reached the database; with Redis back, the read is cached again.
            read = await client.get(f"/api/articles/{article_id}")
            assert read.json()["title"] == "New"
            assert await client.state["cache"].get(article_id) is not None


@pytest.mark.db
async def test_requests_after_postgres_ended_the_connections_succeed_and_nothing_committed_is_lost(
    client: LifespanClient, post_article: PostArticle, database_url: str
) -> None:
    before = [await post_article(title=f"before {i}") for i in range(3)]

    assert await terminate_postgres(database_url) >= 1

    after = await post_article(title="after")
    listed = await client.get("/api/articles/")
    assert listed.status_code == 200, listed.text
    assert {a["id"] for a in listed.json()} == {a["id"] for a in [*before, after]}


@pytest.mark.db
async def test_a_request_in_flight_when_postgres_ends_its_connection_is_a_503(
    client: LifespanClient, post_article: PostArticle, database_url: str
) -> None:
    await post_article()
    async with table_locked(database_url, "articles") as holder:
        in_flight = asyncio.create_task(client.get("/api/articles/"))

        async def waiting() -> bool:
            return await sessions_waiting_for_a_lock(database_url) == 1

        await eventually(waiting)
        await terminate_postgres(database_url, spare=[holder])
    response = await in_flight

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "The database is unavailable; try again"}
    assert (await client.get("/api/articles/")).status_code == 200
