"""The OpenAPI document is the committed one (tests/snapshots/openapi.json), and builds without a warning.

A change to a route's shape shows up here as a diff to review; `--snapshot-update` records it.
"""

from fastapi import FastAPI

from fastapi_testkit.snapshot import Snapshot


def test_the_openapi_document_is_the_committed_one(app: FastAPI, snapshot: Snapshot) -> None:
    snapshot.assert_match(app.openapi(), "openapi.json")
