"""The OpenAPI document is the committed one (tests/snapshots/openapi.json), and builds without a warning.

A change to a route's shape shows up here as a diff to review; `--snapshot-update` records it.
"""

import jsonschema_rs
import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient
from fastapi_testkit.snapshot import Snapshot


def test_the_openapi_document_is_the_committed_one(app: FastAPI, snapshot: Snapshot) -> None:
    snapshot.assert_match(app.openapi(), "openapi.json")


@pytest.mark.parametrize(("field", "value"), [("title", "a\x00b"), ("content", "\x00 text"), ("title", "T")])
async def test_the_document_refuses_nul_where_the_service_does(client: LifespanClient, field: str, value: str) -> None:
    """A fuzzer's stateful run sent NUL in a body the document allowed, and got a 422: what the
    served document accepts, the service accepts, and what it refuses, the service refuses."""
    document = (await client.get("/openapi.json")).json()
    body = {"title": "A title", "content": "text", field: value}
    schema = {**document["components"]["schemas"]["ArticleCreate"], "components": document["components"]}
    documented = jsonschema_rs.validator_for(schema).is_valid(body)
    response = await client.post("/api/articles/", json=body)

    assert documented is ("\x00" not in value)
    assert response.status_code == (201 if documented else 422), response.text
