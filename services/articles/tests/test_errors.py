"""JSON that Python reads but JSON forbids (NaN, Infinity, 1e400, lone surrogates) is a 422 naming
the field, on every route that takes a body; so is a body that is not UTF-8. Never a 500."""

import pytest

from articles.app import create_app
from articles.settings import Settings
from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.bodies import NOT_UTF8, forbidden_bodies

from .helpers import AuthHeaders, PostArticle

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
JSON = {"Content-Type": "application/json"}
ARTICLE = {"title": "A title", "content": "Some content", "status": "published"}


@pytest.mark.parametrize("field", ["title", "content", "status"])
async def test_a_forbidden_value_in_a_new_article_is_a_422_naming_it(
    client: LifespanClient, auth: AuthHeaders, field: str
) -> None:
    for name, body in forbidden_bodies(ARTICLE, field).items():
        response = await client.post("/api/articles/", content=body, headers=auth() | JSON)

        assert response.status_code == 422, (name, response.text)
        assert [error["loc"] for error in response.json()["detail"]] == [["body", field]], name


@pytest.mark.parametrize("field", ["title", "content", "status"])
async def test_a_forbidden_value_in_an_update_is_a_422_naming_it(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle, field: str
) -> None:
    url = f"/api/articles/{(await post_article())['id']}"
    for name, body in forbidden_bodies({}, field).items():
        response = await client.patch(url, content=body, headers=auth() | JSON)

        assert response.status_code == 422, (name, response.text)
        assert [error["loc"] for error in response.json()["detail"]] == [["body", field]], name
    assert (await client.get(url)).json()["title"] == ARTICLE["title"]  # nothing was stored


async def test_a_body_that_is_not_utf8_is_a_422_like_any_malformed_json(
    client: LifespanClient, auth: AuthHeaders
) -> None:
    response = await client.post("/api/articles/", content=NOT_UTF8, headers=auth() | JSON)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"


@pytest.mark.parametrize(("method", "url"), [("POST", "/api/articles/"), ("PATCH", "/api/articles/1")])
async def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(
    auth: AuthHeaders, settings: Settings, method: str, url: str
) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 64}))
    async with lifespan_client(app) as client:
        response = await client.request(
            method, url, content=b'{"padding": "' + b"x" * 100 + b'"}', headers=auth() | JSON
        )

    assert response.status_code == 413, response.text
    # Starlette's own answer, in plain text unlike every other refusal; the document says so.
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == "Content Too Large"
