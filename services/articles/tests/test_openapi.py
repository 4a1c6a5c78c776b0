"""The OpenAPI document is the committed one (tests/snapshots/openapi.json), and it tells the
truth: every status each route answers, who must send a token, which fields may be null and
which text is refused, as the code validates them.

The fuzzing in test_fuzz.py checks the other direction: no route answers a status the
document does not list.
"""

import re
from typing import Any

import jsonschema_rs
import pytest
from fastapi import FastAPI

from articles.schemas import TITLE_PATTERN
from fastapi_testkit import LifespanClient
from fastapi_testkit.snapshot import Snapshot

from .helpers import AuthHeaders

# Each status here is answered somewhere in the suite: 401 test_auth.py, 403 and 404
# test_articles.py, 413 test_errors.py, 422 test_validation.py. 409 and 429 are not answered by
# this service; 408, 414 and 431 are the server's (serving.py), before any route.
STATUSES = {
    ("get", "/api/articles/"): {"200", "422"},
    ("post", "/api/articles/"): {"201", "401", "413", "422"},
    ("get", "/api/articles/{article_id}"): {"200", "401", "404", "422"},
    ("patch", "/api/articles/{article_id}"): {"200", "401", "403", "404", "413", "422"},
    ("delete", "/api/articles/{article_id}"): {"204", "401", "403", "404", "422"},
    ("get", "/health"): {"200"},
}
BEARER: list[dict[str, list[str]]] = [{"HTTPBearer": []}]


@pytest.fixture
def document(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_the_openapi_document_is_the_committed_one(document: dict[str, Any], snapshot: Snapshot) -> None:
    """A change to a route's shape shows up as a diff to review; `--snapshot-update` records it."""
    snapshot.assert_match(document, "openapi.json")


def _operation(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def test_every_status_a_route_answers_is_documented(document: dict[str, Any]) -> None:
    documented = {
        (method, path): set(operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }

    assert documented == STATUSES


def test_refusals_document_their_body_and_the_bearer_challenge(document: dict[str, Any]) -> None:
    for (method, path), statuses in STATUSES.items():
        responses = _operation(document, method, path)["responses"]
        for code in statuses & {"401", "403", "404"}:
            schema = responses[code]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorDetail"}, (method, path, code)
        if "413" in statuses:  # Starlette's plain-text answer (test_errors.py)
            assert set(responses["413"]["content"]) == {"text/plain"}, (method, path)
        if "401" in statuses:
            assert "WWW-Authenticate" in responses["401"]["headers"], (method, path)


def test_the_token_is_optional_on_the_read_and_required_on_writes(document: dict[str, Any]) -> None:
    """`{}` in `security` is OpenAPI's "or no authentication"."""
    assert _operation(document, "get", "/api/articles/{article_id}")["security"] == [*BEARER, {}]
    for method, path in [
        ("post", "/api/articles/"),
        ("patch", "/api/articles/{article_id}"),
        ("delete", "/api/articles/{article_id}"),
    ]:
        assert _operation(document, method, path)["security"] == BEARER, (method, path)
    assert "security" not in _operation(document, "get", "/api/articles/")


def test_the_cached_read_documents_the_article_it_answers(document: dict[str, Any]) -> None:
    """The route returns raw bytes (the cached JSON); `response_model` keeps the schema."""
    ok = _operation(document, "get", "/api/articles/{article_id}")["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ArticleRead"}


def test_no_field_is_documented_as_nullable_because_none_accepts_null(document: dict[str, Any]) -> None:
    """An update leaves out what it keeps; a `null` is refused (test_update_refuses_bad_fields)."""
    schemas = document["components"]["schemas"]

    nullable = [
        f"{name}.{field}"
        for name, schema in schemas.items()
        for field, spec in schema.get("properties", {}).items()
        if {"type": "null"} in spec.get("anyOf", [])
    ]

    assert nullable == []
    assert "required" not in schemas["ArticleUpdate"]  # every field may be left out


async def test_the_served_document_is_the_one_tested(client: LifespanClient, document: dict[str, Any]) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200, response.text
    assert response.json() == document


def test_the_documented_title_pattern_is_the_not_blank_rule() -> None:
    """Found by the fuzzer: a title of "\\f" matched the document but strip() calls it blank.
    Every code point, alone, against the pattern and against the validators' rule."""
    pattern = re.compile(TITLE_PATTERN)
    disagree = [
        hex(code)
        for code in range(0x110000)
        if not 0xD800 <= code <= 0xDFFF  # lone surrogates are no str a JSON body can carry
        and bool(pattern.search(chr(code))) != (bool(chr(code).strip()) and code != 0)
    ]

    assert disagree == []
    # Python's `re` reads `\s` as str.isspace(), so the loop above cannot tell; a client's
    # engine (ECMA-262, Rust) reads it otherwise: the list must be spelled out.
    assert "\\s" not in TITLE_PATTERN


@pytest.mark.parametrize(
    ("title", "refused"), [("\f", True), ("\x1e", True), (" \u3000 ", True), ("\ufeff", False), (" a ", False)]
)
async def test_the_title_edges_the_fuzzer_found_are_refused_as_documented(
    client: LifespanClient, auth: AuthHeaders, title: str, refused: bool
) -> None:
    """Kept from the fuzzer (see above) with its neighbours: U+FEFF is not space to Python (a
    title of it is accepted) though JSON Schema's `\\s` counts it; U+001E is space to Python only."""
    response = await client.post("/api/articles/", json={"title": title, "content": "c"}, headers=auth())

    assert response.status_code == (422 if refused else 201), response.text
    assert bool(re.search(TITLE_PATTERN, title)) is not refused


@pytest.mark.parametrize("schema_name", ["ArticleCreate", "ArticleUpdate"])
@pytest.mark.parametrize(
    ("field", "value"), [("title", "a\x00b"), ("content", "\x00"), ("title", "T"), ("content", "")]
)
async def test_the_document_refuses_nul_where_the_service_does(
    client: LifespanClient, auth: AuthHeaders, schema_name: str, field: str, value: str
) -> None:
    """A fuzzer's stateful run sent NUL in a body the document allowed, and got a 422: what the
    served document accepts, the service accepts, and what it refuses, the service refuses."""
    document = (await client.get("/openapi.json")).json()
    body = {"title": "A title", "content": "text", field: value}
    schema = {**document["components"]["schemas"][schema_name], "components": document["components"]}
    documented = jsonschema_rs.validator_for(schema).is_valid(body)
    if schema_name == "ArticleCreate":
        response = await client.post("/api/articles/", json=body, headers=auth())
    else:
        created = await client.post("/api/articles/", json={"title": "A", "content": ""}, headers=auth())
        response = await client.patch(f"/api/articles/{created.json()['id']}", json=body, headers=auth())

    assert documented is ("\x00" not in value)
    assert response.status_code == (200 if schema_name == "ArticleUpdate" else 201) if documented else 422, (
        response.text
    )
