"""The articles resource: create, list, read, update, delete, and who may do what.

The article's database tests at their smallest, without the kit: examples/async_database/.
"""

import pytest
from sqlalchemy import func, select

from articles.models import Article
from fastapi_testkit import LifespanClient

from .helpers import AuthHeaders, PostArticle

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
pytestmark = pytest.mark.db


async def test_create_returns_the_stored_article(client: LifespanClient, auth: AuthHeaders) -> None:
    body = {"title": "Async Article", "content": "Written asynchronously", "status": "draft"}

    response = await client.post("/api/articles/", json=body, headers=auth("alice"))

    assert response.status_code == 201, response.text
    created = response.json()
    assert created | body == created  # every field sent came back unchanged
    assert set(created) == {"id", "title", "content", "status", "author_id", "created_at"}
    assert created["author_id"] == "alice"
    assert created["created_at"].endswith(("Z", "+00:00"))


async def test_status_defaults_to_draft(client: LifespanClient, auth: AuthHeaders) -> None:
    response = await client.post("/api/articles/", json={"title": "T", "content": "C"}, headers=auth())

    assert response.json()["status"] == "draft"


@pytest.mark.parametrize("run", [1, 2])
async def test_each_test_starts_with_an_empty_database(
    client: LifespanClient, post_article: PostArticle, run: int
) -> None:
    """Run twice: if the first run's row leaked into the second, the count would be 2."""
    await post_article(title=f"run {run}")

    async with client.state["sessionmaker"]() as session:
        assert await session.scalar(select(func.count()).select_from(Article)) == 1


async def test_list_shows_only_published_articles(client: LifespanClient, post_article: PostArticle) -> None:
    await post_article(title="Published One")
    await post_article(title="Published Two")
    await post_article(title="Draft", status="draft")

    response = await client.get("/api/articles/")

    assert response.status_code == 200, response.text
    assert sorted(a["title"] for a in response.json()) == ["Published One", "Published Two"]


async def test_list_is_newest_first(client: LifespanClient, post_article: PostArticle) -> None:
    ids = [(await post_article(title=f"n{i}"))["id"] for i in range(3)]

    listed = (await client.get("/api/articles/")).json()

    assert [a["id"] for a in listed] == ids[::-1]


async def test_limit_and_offset_page_through_the_list(client: LifespanClient, post_article: PostArticle) -> None:
    ids = [(await post_article(title=f"p{i}"))["id"] for i in range(5)]
    newest_first = ids[::-1]

    first = (await client.get("/api/articles/", params={"limit": 2})).json()
    second = (await client.get("/api/articles/", params={"limit": 2, "offset": 2})).json()
    past_the_end = (await client.get("/api/articles/", params={"offset": 5})).json()

    assert [a["id"] for a in first] == newest_first[:2]
    assert [a["id"] for a in second] == newest_first[2:4]
    assert past_the_end == []


async def test_list_returns_twenty_by_default(client: LifespanClient, post_article: PostArticle) -> None:
    for i in range(21):
        await post_article(title=f"d{i}")

    assert len((await client.get("/api/articles/")).json()) == 20
    assert len((await client.get("/api/articles/", params={"limit": 100})).json()) == 21


async def test_a_published_article_is_public(client: LifespanClient, post_article: PostArticle) -> None:
    created = await post_article(status="published")

    response = await client.get(f"/api/articles/{created['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == created


async def test_a_draft_is_visible_to_its_author_only(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle
) -> None:
    draft = await post_article(status="draft", author="alice")
    url = f"/api/articles/{draft['id']}"

    assert (await client.get(url, headers=auth("alice"))).json() == draft
    assert (reply := await client.get(url, headers=auth("bob"))).status_code == 404, reply.text
    assert (reply := await client.get(url)).status_code == 404, reply.text


async def test_an_unknown_article_is_404(client: LifespanClient) -> None:
    response = await client.get("/api/articles/999")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Article 999 not found"}


async def test_the_author_can_update_an_article(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle
) -> None:
    created = await post_article(title="Before", status="draft")

    response = await client.patch(
        f"/api/articles/{created['id']}", json={"title": "After", "status": "published"}, headers=auth("alice")
    )

    assert response.status_code == 200, response.text
    assert response.json() == created | {"title": "After", "status": "published"}
    assert (await client.get(f"/api/articles/{created['id']}")).json()["title"] == "After"


async def test_the_author_can_delete_an_article(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle
) -> None:
    created = await post_article()

    response = await client.delete(f"/api/articles/{created['id']}", headers=auth("alice"))

    assert response.status_code == 204, response.text
    assert response.content == b""
    assert (reply := await client.get(f"/api/articles/{created['id']}")).status_code == 404, reply.text


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_only_the_author_may_change_a_published_article(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle, method: str
) -> None:
    created = await post_article(author="alice", title="Mine")
    url = f"/api/articles/{created['id']}"

    response = await client.request(method, url, json={"title": "Theirs"}, headers=auth("bob"))

    assert response.status_code == 403, response.text
    assert (await client.get(url)).json()["title"] == "Mine"


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_someone_elses_draft_is_404_not_403(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle, method: str
) -> None:
    """A 403 would tell bob that alice's unpublished draft exists."""
    draft = await post_article(author="alice", status="draft")

    response = await client.request(method, f"/api/articles/{draft['id']}", json={"title": "x"}, headers=auth("bob"))

    assert response.status_code == 404, response.text


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_changing_an_unknown_article_is_404(client: LifespanClient, auth: AuthHeaders, method: str) -> None:
    response = await client.request(method, "/api/articles/4242", json={"title": "x"}, headers=auth())

    assert response.status_code == 404, response.text


@pytest.mark.parametrize("method", ["PATCH", "DELETE"])
async def test_changing_needs_a_token(client: LifespanClient, post_article: PostArticle, method: str) -> None:
    created = await post_article()

    response = await client.request(method, f"/api/articles/{created['id']}", json={"title": "x"})

    assert response.status_code == 401, response.text
