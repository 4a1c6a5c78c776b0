"""Every HTTP operation in the OpenAPI, fuzzed in-process with the lifespan running (schemathesis):
valid and invalid inputs, no 5xx, every response as the document says. The WebSocket routes are not
in the document; tests/test_bad_input.py tries them as a hostile client would."""

from typing import Any

import schemathesis
from fastapi import FastAPI

from chat.app import create_app
from fastapi_testkit.fuzz import fuzz_settings, openapi_schema

from .helpers import bearer

schema = openapi_schema(create_app().openapi())


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_api_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate(headers=bearer())
