"""Bad input: every refusal is a 422 with the offending field named, never a 500."""

import re
from typing import Any

import pytest

from fastapi_testkit import LifespanClient, lifespan_client
from processing.app import create_app
from processing.settings import Settings
from service_runtime.text import NOT_BLANK_PATTERN

from .helpers import PostArticle

pytestmark = pytest.mark.db

VALID = {"title": "Title", "content": "Content."}


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
        pytest.param({"content": ""}, ["body", "content"], "at least 1 character", id="empty-content"),
        pytest.param({"content": "\n\t "}, ["body", "content"], "must not be blank", id="blank-content"),
        pytest.param({"content": "x" * 100_001}, ["body", "content"], "at most 100000", id="long-content"),
        pytest.param({"content": "\x00"}, ["body", "content"], "NUL", id="nul-in-content"),
        pytest.param({"status": "processed"}, ["body", "status"], "Extra inputs", id="client-chosen-status"),
        pytest.param({"summary": "mine"}, ["body", "summary"], "Extra inputs", id="client-chosen-summary"),
        pytest.param({"id": 7}, ["body", "id"], "Extra inputs", id="client-chosen-id"),
    ],
)
async def test_create_refuses_bad_fields(
    client: LifespanClient, change: dict[str, Any], location: list[str], message: str
) -> None:
    response = await client.post("/api/articles/", json=VALID | change)

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [location]
    assert message in response.json()["detail"][0]["msg"]


async def test_both_fields_too_long_are_both_reported(client: LifespanClient) -> None:
    response = await client.post("/api/articles/", json={"title": "t" * 201, "content": "c" * 100_001})

    assert response.status_code == 422, response.text
    assert response.json()["detail"] == [
        {
            "type": "string_too_long",
            "loc": ["body", "title"],
            "msg": "String should have at most 200 characters",
            "input": "t" * 201,
            "ctx": {"max_length": 200},
        },
        {
            "type": "string_too_long",
            "loc": ["body", "content"],
            "msg": "String should have at most 100000 characters",
            "input": "c" * 100_001,
            "ctx": {"max_length": 100_000},
        },
    ]


@pytest.mark.parametrize("missing", ["title", "content"])
async def test_create_requires_title_and_content(client: LifespanClient, missing: str) -> None:
    body = {k: v for k, v in VALID.items() if k != missing}

    response = await client.post("/api/articles/", json=body)

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [["body", missing]]


async def test_the_longest_allowed_fields_are_accepted(client: LifespanClient) -> None:
    body = {"title": "t" * 200, "content": "c" * 100_000}

    response = await client.post("/api/articles/", json=body)

    assert response.status_code == 201, response.text
    assert response.json()["content"] == body["content"]


async def test_the_limits_come_from_settings(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_title_length": 5, "max_content_length": 10}))

    async with lifespan_client(app) as client:
        at_limit = await client.post("/api/articles/", json={"title": "t" * 5, "content": "c" * 10})
        past_it = await client.post("/api/articles/", json={"title": "t" * 6, "content": "c" * 11})

    assert at_limit.status_code == 201, at_limit.text
    assert past_it.status_code == 422, past_it.text
    assert [e["msg"] for e in past_it.json()["detail"]] == [
        "String should have at most 5 characters",
        "String should have at most 10 characters",
    ]


@pytest.mark.parametrize(
    "raw", [b"{not json", b"[]", b'"a string"', b""], ids=["malformed", "array", "string", "empty"]
)
async def test_a_body_that_is_not_an_article_object_is_422(client: LifespanClient, raw: bytes) -> None:
    response = await client.post("/api/articles/", content=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][0] == "body"


@pytest.mark.parametrize("article_id", ["abc", "1.5", "0", "-1", str(2**31), str(2**70)])
@pytest.mark.parametrize(("method", "suffix"), [("GET", ""), ("POST", "/process")], ids=["read", "process"])
async def test_ids_outside_the_id_range_are_422(
    client: LifespanClient, post_article: PostArticle, method: str, suffix: str, article_id: str
) -> None:
    """Without the bound, 2**70 would reach PostgreSQL as an out-of-range integer: a 500."""
    await post_article()  # so a bad id cannot pass for a missing article

    response = await client.request(method, f"/api/articles/{article_id}{suffix}")

    assert response.status_code == 422, response.text
    assert error_locations(response.json()) == [["path", "article_id"]]


@pytest.mark.parametrize("blank", ["\n", " \t", "\x1c\x1f", "\u2028\u3000"])
async def test_a_blank_the_document_refuses_is_refused(client: LifespanClient, blank: str) -> None:
    """Kept from the fuzzer: `"\n"` passed the documented schema and failed the validator."""
    pattern = re.compile(NOT_BLANK_PATTERN)
    assert pattern.search(blank) is None  # the document says it is refused
    response = await client.post("/api/articles/", json={"title": "A title", "content": blank})

    assert response.status_code == 422, response.text


def test_the_documented_not_blank_pattern_is_str_isspace() -> None:
    pattern = re.compile(NOT_BLANK_PATTERN)
    for code in range(0x110000):
        char = chr(code)
        if code == 0 or 0xD800 <= code <= 0xDFFF:
            continue
        assert (pattern.search(char) is None) == char.isspace(), hex(code)
