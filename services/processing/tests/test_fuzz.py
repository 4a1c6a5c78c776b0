"""Every operation in the OpenAPI, fuzzed in-process with the lifespan running (schemathesis):
valid and invalid inputs, no 5xx, every response as the document says, on the run's backend."""

from typing import Any

import schemathesis
from fastapi import FastAPI

from fastapi_testkit.fuzz import fuzz_settings, openapi_schema
from processing.app import create_app

schema = openapi_schema(create_app().openapi())


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_api_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate()
