"""Schemathesis against the test's own app: in-process, its lifespan running, every operation.

    from fastapi_testkit.fuzz import fuzz_settings, openapi_schema

    schema = openapi_schema(create_app().openapi())

    @schema.parametrize()
    @fuzz_settings
    def test_no_input_breaks_the_api(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
        case.call_and_validate()

The schema is built at import time from `app.openapi()` (which runs no lifespan and touches no
database); each test then binds its own `app` fixture through `fuzz_app`, so every operation runs
against a fresh app on the run's backend. Schemathesis itself starts that app's lifespan on the
first request and ends it after the test. (`schemathesis.pytest.from_fixture` would be the
obvious route; it fails on pytest 9.2, which renamed the node's private `_nodeid`.)
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.schemas import BaseSchema
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_EXAMPLES = 30


class CurrentApp:
    """One ASGI app for schemathesis that forwards to whichever app the running test bound.

    Schemathesis keeps a lifespan per app object and ends it after each test, so binding a new
    app per test gives each test its own lifespan (and database) under one module-level schema.
    """

    app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.app is None:
            raise RuntimeError("no app bound: the test must use the `fuzz_app` fixture")
        await self.app(scope, receive, send)


CURRENT_APP = CurrentApp()

# The examples of one operation share the test's app (and database), as intended, so that health
# check is off. The first request starts the lifespan, which no per-example deadline should count.
fuzz_settings = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


def openapi_schema(openapi: dict[str, Any], *, max_examples: int = DEFAULT_EXAMPLES) -> BaseSchema:
    """A schema for `app.openapi()` whose requests, and every probe a check sends, go in-process.

    Valid and invalid inputs both (schemathesis' default modes). No NUL characters: every service
    refuses them (PostgreSQL text cannot hold one) and a JSON Schema cannot say so cheaply (a
    pattern on a long field makes schemathesis' coverage phase build huge matching strings).
    413 counts as refusing invalid data: a body past a `maxLength` can also be past the
    service's body limit, and that answer is the right one.
    """
    schema = schemathesis.openapi.from_dict(openapi)
    schema.app = CURRENT_APP
    schema.config.generation.update(max_examples=max_examples, allow_x00=False)
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


@pytest.fixture
def fuzz_app(app: ASGIApp) -> Iterator[ASGIApp]:
    """The project's `app` fixture, bound for schemathesis until the test ends."""
    CURRENT_APP.app = app
    try:
        yield app
    finally:
        CURRENT_APP.app = None
