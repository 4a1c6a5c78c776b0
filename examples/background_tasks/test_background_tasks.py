from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import ANY, AsyncMock, patch

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from background_tasks_app import Article, Sessionmaker, create_app


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    # A file: an in-memory SQLite is one per connection, and the task's session is not the request's.
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with LifespanManager(create_app(database_url)) as manager:  # creates the tables
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
async def sessionmaker(client: httpx.AsyncClient, database_url: str) -> AsyncIterator[Sessionmaker]:
    """The test's own way into the database: to add articles and read what the task stored."""
    engine = create_async_engine(database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def add_article(sessionmaker: Sessionmaker) -> int:
    async with sessionmaker() as session, session.begin():
        session.add(article := Article(content="Async testing, made right. And the rest of it."))
    return article.id


async def test_processing_stores_the_summary(client: httpx.AsyncClient, sessionmaker: Sessionmaker) -> None:
    article_id = await add_article(sessionmaker)

    response = await client.post(f"/api/articles/{article_id}/process")

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "processing_started"}
    # ASGITransport returns only once the background tasks have run: the effect is there now.
    async with sessionmaker() as session:
        article = await session.get(Article, article_id)
    assert article is not None
    assert (article.status, article.summary) == ("processed", "Async testing, made right.")


async def test_the_task_is_queued_with_the_id(client: httpx.AsyncClient, sessionmaker: Sessionmaker) -> None:
    """The article's way, mocking the task: it proves the call, not the effect (the test above)."""
    article_id = await add_article(sessionmaker)

    with patch("background_tasks_app.process_article_async", new=AsyncMock()) as task:
        response = await client.post(f"/api/articles/{article_id}/process")

    assert response.status_code == 202, response.text
    task.assert_awaited_once_with(article_id, ANY)  # an id and a sessionmaker: no session, no object


async def test_an_unknown_article_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/articles/404/process")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "article not found"}
