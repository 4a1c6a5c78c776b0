"""Every operation in the OpenAPI, fuzzed in-process with the lifespan running (schemathesis):
valid and invalid inputs, no 5xx of the gateway's own, every response as the document says.

The upstreams are the suite's fakes (conftest), so what is fuzzed is the gateway: its paths,
limits and error answers. Raw paths that no schema describes are tried in test_paths.py.
"""

from typing import Any

import schemathesis
from fastapi import FastAPI

from fastapi_testkit.fuzz import fuzz_settings, openapi_schema
from gateway.app import create_app
from gateway.settings import Settings

schema = openapi_schema(create_app(Settings()).openapi())


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_gateway_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate()
