import asyncio

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from async_database_app import Article


async def test_create_article(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    payload = {"title": "Async Article", "content": "Written asynchronously", "status": "draft"}

    response = await client.post("/api/articles/", json=payload)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created == {**payload, "id": created["id"]}
    assert await db_session.get(Article, created["id"]) is not None


async def test_list_only_published(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    db_session.add_all(
        [
            Article(title="Published One", status="published", content="a"),
            Article(title="Published Two", status="published", content="b"),
            Article(title="Draft", status="draft", content="c"),
        ]
    )
    await db_session.commit()

    response = await client.get("/api/articles/")

    assert response.status_code == 200, response.text
    assert [a["title"] for a in response.json()] == ["Published One", "Published Two"]


async def test_concurrent_requests_each_store_their_row(client: httpx.AsyncClient, db_session: AsyncSession) -> None:
    """Ten POSTs at once, each on its own session. They are published: the list shows only those
    (the article created drafts, then expected them in the list of published articles)."""
    payloads = [{"title": f"Concurrent {i}", "content": "c", "status": "published"} for i in range(10)]

    responses = await asyncio.gather(*(client.post("/api/articles/", json=p) for p in payloads))

    assert [r.status_code for r in responses] == [201] * 10
    assert len({r.json()["id"] for r in responses}) == 10
    listed = (await client.get("/api/articles/")).json()
    assert sorted(a["title"] for a in listed) == sorted(p["title"] for p in payloads)
    assert await db_session.scalar(select(func.count()).select_from(Article)) == 10
