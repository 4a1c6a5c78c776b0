"""The articles resource: create and read, with the processing fields."""

import pytest
from sqlalchemy import func, select

from fastapi_testkit import LifespanClient
from processing.models import Article

from .helpers import PostArticle

pytestmark = pytest.mark.db


async def test_a_new_article_is_pending(client: LifespanClient) -> None:
    body = {"title": "Async Article", "content": "Written asynchronously."}

    response = await client.post("/api/articles/", json=body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created == body | {"id": created["id"], "status": "pending", "summary": None, "error": None}


async def test_an_article_reads_back_as_created(client: LifespanClient, post_article: PostArticle) -> None:
    created = await post_article(title="Read me")

    response = await client.get(f"/api/articles/{created['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == created


async def test_an_unknown_article_is_404(client: LifespanClient) -> None:
    response = await client.get("/api/articles/999")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Article 999 not found"}


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_starts_with_an_empty_database(
    client: LifespanClient, post_article: PostArticle, run: int
) -> None:
    """Run twice: if the first run's row leaked into the second, the count would be 2."""
    await post_article(title=f"run {run}")

    async with client.state["sessionmaker"]() as session:
        assert await session.scalar(select(func.count()).select_from(Article)) == 1


async def test_stats_count_the_articles_in_each_state(client: LifespanClient, post_article: PostArticle) -> None:
    assert (await client.get("/api/stats")).json() == {"pending": 0, "processing": 0, "processed": 0, "failed": 0}
    first, _ = await post_article(), await post_article()
    await client.post(f"/api/articles/{first['id']}/process")  # in-process: done when this returns

    response = await client.get("/api/stats")

    assert response.status_code == 200, response.text
    assert response.json() == {"pending": 1, "processing": 0, "processed": 1, "failed": 0}
