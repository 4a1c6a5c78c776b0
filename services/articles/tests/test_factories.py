"""Test data from factories (polyfactory), and assertions on values only partly known (dirty-equals).

Why: hand-written dicts of test data repeat the schema in every test and drift from it; a
factory builds valid objects from the model itself (its types, lengths and enums), and a test
names only the fields it is about. A server-chosen id or a timestamp cannot be written down in
advance: `IsPositiveInt` and `IsNow` say what is known about them (a positive id, a time within
seconds of now, in UTC) instead of deleting them from the comparison, which would assert nothing.
Seeded (`__random_seed__`), so a failure shows the same data on every run.
"""

from collections.abc import Iterator
from datetime import UTC

import pytest
from dirty_equals import IsList, IsNow, IsPartialDict, IsPositiveInt, IsStr
from polyfactory import Use
from polyfactory.factories.pydantic_factory import ModelFactory
from polyfactory.factories.sqlalchemy_factory import SQLAlchemyFactory

from articles.models import Article, Status
from articles.schemas import ArticleCreate
from fastapi_testkit import LifespanClient

from .helpers import AuthHeaders

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
pytestmark = pytest.mark.db


class ArticleCreateFactory(ModelFactory[ArticleCreate]):
    """Valid request bodies. Lengths and the enum come from the schema; text is readable, so a
    failure is too, and never blank or NUL (the schema's own validators, which a factory cannot read)."""

    __random_seed__ = 16
    title = Use(lambda: ArticleCreateFactory.__faker__.sentence(nb_words=4))
    content = Use(lambda: ArticleCreateFactory.__faker__.paragraph())


class ArticleFactory(SQLAlchemyFactory[Article]):
    """Rows written straight to the database, for tests about reading: faster than the API,
    and free of its rules (any author, any creation time)."""

    __random_seed__ = 16
    __set_primary_key__ = False  # the database numbers them; a random id could overflow int32
    title = Use(lambda: ArticleFactory.__faker__.sentence(nb_words=4))
    content = Use(lambda: ArticleFactory.__faker__.paragraph())
    author_id = Use(lambda: ArticleFactory.__faker__.user_name())
    created_at = Use(lambda: ArticleFactory.__faker__.date_time(tzinfo=UTC))


@pytest.fixture
def rows(client: LifespanClient) -> Iterator[type[ArticleFactory]]:
    """ArticleFactory bound to this test's database (the app's own sessionmaker) for the test."""
    ArticleFactory.__async_session__ = client.state["sessionmaker"]
    yield ArticleFactory
    ArticleFactory.__async_session__ = None


async def test_a_created_article_is_the_body_plus_what_the_server_chose(
    client: LifespanClient, auth: AuthHeaders
) -> None:
    body = ArticleCreateFactory.build().model_dump(mode="json")

    response = await client.post("/api/articles/", json=body, headers=auth("alice"))

    assert response.status_code == 201, response.text
    assert response.json() == {
        **body,
        "id": IsPositiveInt,
        "author_id": "alice",
        "created_at": IsNow(iso_string=True, tz=UTC),
    }


async def test_the_list_shows_the_newest_twenty_published_rows(
    client: LifespanClient, rows: type[ArticleFactory]
) -> None:
    published = await rows.create_batch_async(25, status=Status.PUBLISHED)
    await rows.create_batch_async(5, status=Status.DRAFT)
    newest = sorted(published, key=lambda a: (a.created_at, a.id), reverse=True)[:20]

    response = await client.get("/api/articles/")

    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed == IsList(*([IsPartialDict(status="published", id=IsPositiveInt, title=IsStr)] * 20))
    assert [a["id"] for a in listed] == [a.id for a in newest]
