"""Every HTTP operation in the OpenAPI, fuzzed in-process with the lifespan running (schemathesis):
valid and invalid inputs, no 5xx, every response as the document says.

Not the live stream, `GET /api/topics/{topic}/stream`: a valid request starts an endless response,
and in-process (httpx's ASGITransport, which schemathesis uses) a response returns only once it is
complete, so the first valid example would hang. tests/test_properties.py drives its path, header
and query with hypothesis over a live server instead.
"""

from typing import Any

import schemathesis
from fastapi import FastAPI

from events.app import create_app
from fastapi_testkit.fuzz import fuzz_settings, openapi_schema

schema = openapi_schema(create_app().openapi()).exclude(path="/api/topics/{topic}/stream")
# Text that UTF-8 can encode: a lone surrogate ("\ud800") is refused with a 422 on purpose (Redis
# stores UTF-8; tests/test_errors.py), and a JSON Schema has no way to say so for any JSON value.
schema.config.generation.update(codec="utf-8")


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_api_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate()
