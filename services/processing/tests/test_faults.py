"""PostgreSQL ends the service's connections: what comes after succeeds, what was caught in flight is a 503.

Workers killed in the middle of a job are the queue's own crash tests: tests/test_workers.py and
tests/test_recovery.py (docs/processing.md, "Faults").
"""

import asyncio

import pytest

from fastapi_testkit import LifespanClient, eventually
from fastapi_testkit.faults import sessions_waiting_for_a_lock, table_locked, terminate_postgres

from .helpers import PostArticle

pytestmark = [pytest.mark.db, pytest.mark.real_only(reason="ends connections on the real PostgreSQL server")]


async def test_requests_after_postgres_ended_the_connections_succeed_and_nothing_committed_is_lost(
    client: LifespanClient, post_article: PostArticle, database_url: str
) -> None:
    before = [await post_article(title=f"before {i}") for i in range(3)]

    assert await terminate_postgres(database_url) >= 1

    after = await post_article(title="after")
    for article in [*before, after]:
        response = await client.get(f"/api/articles/{article['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["title"] == article["title"]


async def test_a_request_in_flight_when_postgres_ends_its_connection_is_a_503(
    client: LifespanClient, post_article: PostArticle, database_url: str
) -> None:
    article = await post_article()
    async with table_locked(database_url, "articles") as holder:
        in_flight = asyncio.create_task(client.get(f"/api/articles/{article['id']}"))

        async def waiting() -> bool:
            return await sessions_waiting_for_a_lock(database_url) == 1

        await eventually(waiting)
        await terminate_postgres(database_url, spare=[holder])
    response = await in_flight

    assert response.status_code == 503, response.text
    assert response.json() == {"detail": "The database is unavailable; try again"}
    assert (await client.get(f"/api/articles/{article['id']}")).status_code == 200
