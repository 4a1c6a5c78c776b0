"""Bad input: every refusal is a 422 with the offending field named, never a 500."""

from typing import Any

import pytest

from fastapi_testkit import LifespanClient

from .helpers import AuthHeaders, PostArticle

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
VALID = {"title": "Title", "content": "Content", "status": "draft"}


def error_locations(body: dict[str, Any]) -> list[list[str | int]]:
    return [error["loc"] for error in body["detail"]]


@pytest.mark.parametrize(
    ("change", "location", "message"),
    [
        pytest.param({"title": ""}, ["body", "title"], "at least 1 character", id="empty-title"),
        pytest.param({"title": "   "}, ["body", "title"], "must not be blank", id="blank-title"),
        pytest.param({"title": "x" * 201}, ["body", "title"], "at most 200 characters", id="long-title"),
        pytest.param({"title": "a\x00b"}, ["body", "title"], "NUL", id="nul-in-title"),
        pytest.param({"title": None}, ["body", "title"], "valid string", id="null-title"),
        pytest.param({"title": 42}, ["body", "title"], "valid string", id="number-title"),
        pytest.param({"content": "x" * 100_001}, ["body", "content"], "at most 100000", id="long-content"),
        pytest.param({"content": "\x00"}, ["body", "content"], "NUL", id="nul-in-content"),
        pytest.param({"status": "archived"}, ["body", "status"], "'draft' or 'published'", id="unknown-status"),
        pytest.param({"author_id": "mallory"}, ["body", "author_id"], "Extra inputs", id="unknown-field"),
        pytest.param({"id": 7}, ["body", "id"], "Extra inputs", id="client-chosen-id"),
    ],
)
async def test_create_refuses_bad_fields(
    client: LifespanClient, auth: AuthHeaders, change: dict[str, Any], location: list[str], message: str
) -> None:
    response = await client.post("/api/articles/", json=VALID | change, headers=auth())

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [location]
    assert message in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("missing", ["title", "content"])
async def test_create_requires_title_and_content(client: LifespanClient, auth: AuthHeaders, missing: str) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}

    response = await client.post("/api/articles/", json=body, headers=auth())

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [["body", missing]]


async def test_the_longest_allowed_fields_are_accepted(client: LifespanClient, auth: AuthHeaders) -> None:
    body = VALID | {"title": "t" * 200, "content": "c" * 100_000}

    response = await client.post("/api/articles/", json=body, headers=auth())

    assert response.status_code == 201, response.text
    assert response.json()["content"] == body["content"]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[]", b'"a string"', b""], ids=["malformed", "array", "string", "empty"]
)
async def test_a_body_that_is_not_an_article_object_is_422(
    client: LifespanClient, auth: AuthHeaders, raw: bytes
) -> None:
    headers = auth() | {"Content-Type": "application/json"}

    response = await client.post("/api/articles/", content=raw, headers=headers)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize(
    ("change", "location"),
    [
        pytest.param({"title": None}, ["body", "title"], id="null-title"),
        pytest.param({"content": None}, ["body", "content"], id="null-content"),
        pytest.param({"status": None}, ["body", "status"], id="null-status"),
        pytest.param({"title": " "}, ["body", "title"], id="blank-title"),
        pytest.param({"author_id": "mallory"}, ["body", "author_id"], id="unknown-field"),
    ],
)
async def test_update_refuses_bad_fields(
    client: LifespanClient, auth: AuthHeaders, post_article: PostArticle, change: dict[str, Any], location: list[str]
) -> None:
    created = await post_article(title="Kept")

    response = await client.patch(f"/api/articles/{created['id']}", json=change, headers=auth())

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [location]
    assert (await client.get(f"/api/articles/{created['id']}")).json()["title"] == "Kept"


@pytest.mark.parametrize("article_id", ["abc", "1.5", "0", "-1", str(2**31), str(2**70)])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_ids_outside_the_id_range_are_422(
    client: LifespanClient, auth: AuthHeaders, method: str, article_id: str
) -> None:
    """Without the bound, 2**70 would reach PostgreSQL as an out-of-range integer: a 500."""
    response = await client.request(method, f"/api/articles/{article_id}", json={"title": "x"}, headers=auth())

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [["path", "article_id"]]


@pytest.mark.parametrize(
    ("params", "location"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**63}, "offset"),
    ],
)
async def test_list_bounds_are_422(client: LifespanClient, params: dict[str, Any], location: str) -> None:
    response = await client.get("/api/articles/", params=params)

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [["query", location]]


async def test_the_extreme_allowed_page_is_served(client: LifespanClient) -> None:
    response = await client.get("/api/articles/", params={"limit": 100, "offset": 2**31 - 1})

    assert response.status_code == 200, response.text
    assert response.json() == []


async def test_a_surrogate_escaped_in_the_query_string_arrives_replaced(client: LifespanClient) -> None:
    """The other way in: `%ED%A0%80` is a surrogate's UTF-8 form, which no decoder accepts.
    Starlette decodes the query with errors="replace", so it arrives as U+FFFD, never as a
    surrogate; the integer parameters then refuse it like any other text."""
    response = await client.get("/api/articles/?limit=%ED%A0%80")

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["input"] == "\ufffd\ufffd\ufffd"
