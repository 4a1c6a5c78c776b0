"""fastapi_testkit.fuzz: schemathesis reaches the test's own app, lifespan state and all, and fails on a 5xx."""

import pytest

CONFIG = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""

APP = """
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
import schemathesis

from fastapi import FastAPI, Path, Request

from fastapi_testkit.fuzz import fuzz_settings, openapi_schema


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app):
        yield {"greeting": "hello"}  # a route without the lifespan would fail on request.state

    app = FastAPI(lifespan=lifespan)

    # A name, not a number: FastAPI reads "+0.0" as the int 0, which schemathesis' negative
    # cases count as schema-violating data accepted (a flaky failure of the healthy app).
    @app.get("/greet/{name}")
    async def greet(name: Annotated[str, Path(pattern="^[a-z]{1,8}$")], request: Request) -> dict[str, str]:
        if len(name) == BROKEN_AT:
            raise RuntimeError("a bug the fuzzer must find")
        return {"text": request.state.greeting}

    return app


BROKEN_AT = {broken_at}
schema = openapi_schema(create_app().openapi(), max_examples=40)


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@schema.parametrize()
@fuzz_settings
def test_api(case: schemathesis.Case[Any], fuzz_app: FastAPI) -> None:
    case.call_and_validate()
"""


@pytest.mark.parametrize(("broken_at", "outcome"), [("None", {"passed": 1}), ("1", {"failed": 1})])
def test_every_operation_is_fuzzed_with_the_lifespan_running(
    pytester: pytest.Pytester, broken_at: str, outcome: dict[str, int]
) -> None:
    pytester.makeini(CONFIG)
    pytester.makepyfile(test_api=APP.replace("{broken_at}", broken_at))

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(**outcome)


def test_a_fuzzing_test_gets_the_longer_hang_guard(pytester: pytest.Pytester) -> None:
    """Dozens of examples run inside one fuzzing test: 30 s, the default, cut them off on a loaded machine."""
    pytester.makeini(CONFIG)
    pytester.makepyfile(
        test_guard="""
        import pytest
        from fastapi import FastAPI

        @pytest.fixture
        def app() -> FastAPI:
            return FastAPI()

        def test_fuzzing(fuzz_app: FastAPI, request: pytest.FixtureRequest) -> None:
            assert request.node.get_closest_marker("timeout").args == (180.0,)

        def test_plain(request: pytest.FixtureRequest) -> None:
            assert request.node.get_closest_marker("timeout").args == (30.0,)
        """
    )

    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
