"""Every operation in the OpenAPI document, fuzzed in-process with the lifespan running
(schemathesis): valid and invalid inputs, no 5xx, every response as the document says.

The requests carry a valid token for "alice", so the writes get past authentication and reach
validation and the database; the bad-token paths are test_auth.py's.
"""

from typing import Any

import schemathesis
from fastapi import FastAPI
from schemathesis.specs.openapi.checks import allow_header_conformance

from articles.app import create_app
from fastapi_testkit import create_token
from fastapi_testkit.fuzz import fuzz_settings, openapi_schema

from .helpers import SECRET

schema = openapi_schema(create_app().openapi())
# Starlette answers a method no route of a path takes with a 405 whose `Allow` names the
# methods of the first route matching the path only (GET and POST on /api/articles/ are two
# routes), so an OPTIONS there says `Allow: GET`. Starlette's routing, not this service's.
EXCLUDED = [allow_header_conformance]


@schema.parametrize()
@fuzz_settings
def test_no_input_breaks_the_api_or_its_document(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    token = create_token("alice", SECRET)
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, excluded_checks=EXCLUDED)
