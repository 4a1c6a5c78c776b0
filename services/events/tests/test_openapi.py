"""The OpenAPI document is the committed one (tests/snapshots/openapi.json), and builds without a warning.

A change to a route's shape shows up here as a diff to review; `--snapshot-update` records it.
"""

import re

from fastapi import FastAPI

from fastapi_testkit.snapshot import Snapshot


def test_the_openapi_document_is_the_committed_one(app: FastAPI, snapshot: Snapshot) -> None:
    snapshot.assert_match(app.openapi(), "openapi.json")


def test_the_document_states_the_rules_the_validators_apply(app: FastAPI) -> None:
    """A client or a fuzzer reading the document sends what the service accepts (tests/test_fuzz.py)."""
    document = app.openapi()
    stream = document["paths"]["/api/topics/{topic}/stream"]["get"]
    parameters = {p["name"]: p["schema"] for p in stream["parameters"]}

    topics = {".": False, "..": False, "...": True, ".a": True, "a.": True, "x" * 64: True, "x" * 65: False}
    assert {topic: bool(re.search(parameters["topic"]["pattern"], topic)) for topic in topics} == topics
    assert [s.get("pattern") for s in parameters["Last-Event-ID"]["anyOf"]] == ["^[0-9]{1,19}-[0-9]{1,19}$", None]
    assert set(stream["responses"]) == {"200", "422", "503"}
