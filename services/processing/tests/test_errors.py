"""JSON that Python reads but JSON forbids (NaN, Infinity, 1e400, lone surrogates) is a 422 naming
the field; so is a body that is not UTF-8. Never a 500."""

import pytest

from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.bodies import NOT_UTF8, forbidden_bodies
from processing.app import create_app
from processing.settings import Settings

JSON = {"Content-Type": "application/json"}
ARTICLE = {"title": "A title", "content": "Some content to summarise."}


@pytest.mark.parametrize("field", ["title", "content"])
async def test_a_forbidden_value_in_a_new_article_is_a_422_naming_it(client: LifespanClient, field: str) -> None:
    for name, body in forbidden_bodies(ARTICLE, field).items():
        response = await client.post("/api/articles/", content=body, headers=JSON)

        assert response.status_code == 422, (name, response.text)
        assert [error["loc"] for error in response.json()["detail"]] == [["body", field]], name
    assert (await client.get("/api/stats")).json()["pending"] == 0  # nothing was stored


async def test_a_body_that_is_not_utf8_is_a_422_like_any_malformed_json(client: LifespanClient) -> None:
    response = await client.post("/api/articles/", content=NOT_UTF8, headers=JSON)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 64}))
    async with lifespan_client(app) as client:
        response = await client.post("/api/articles/", content=b'{"padding": "' + b"x" * 100 + b'"}', headers=JSON)

    assert response.status_code == 413, response.text
