"""Some of the core tests again, run by anyio's pytest plugin instead of pytest-asyncio.

Why: FastAPI's own documentation tests with `@pytest.mark.anyio`, and users ask what changes.
What differs, each shown here:
- Who runs the test: `@pytest.mark.anyio` plus an `anyio_backend` fixture. In auto mode
  pytest-asyncio claims every async test, these too, and anyio's plugin never runs them
  (`test_in_auto_mode_pytest_asyncio_claims_them`). A project that tests with anyio runs
  pytest-asyncio in strict mode and marks its pytest-asyncio tests. This suite is in auto mode
  like the others, so the anyio tests are a project of their own (ANYIO_TESTS), with its own
  strict-mode ini, run by pytester; its first test checks which plugin ran it.
- Fixtures: anyio runs plain `async def` fixtures (no `@pytest_asyncio.fixture`) for tests that
  use `anyio_backend`, and runs a yield fixture's set-up and teardown in one task. pytest-asyncio
  1.5 uses two tasks, which is why a task group or an httpx-ws session cannot be entered in its
  fixtures ("exit cancel scope in a different task"; the kit's README). `anyio_client` below
  holds a task group across the test and checks the task at teardown.
- The kit's `client` is a pytest-asyncio fixture, made in pytest-asyncio's loop: not for these
  tests, whose loop is anyio's. They build their own with the kit's `lifespan_client`.
- Backends: `anyio_backend` could also be "trio", but the drivers under this app (aiosqlite,
  asyncpg, redis-py) are asyncio-only, so this service's tests run on asyncio only.
"""

import pytest

from fastapi_testkit import Backend

pytest_plugins = ["pytester"]

# What a project that tests with anyio beside pytest-asyncio configures.
STRICT_INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""

# This suite's fixtures (`app`, `auth` and what they need), for the project below.
CONFTEST = "from tests.conftest import app, auth, settings  # noqa: F401 (fixtures)\n"

ANYIO_TESTS = """
import asyncio
import inspect

import anyio
import pytest
from sqlalchemy import event

from fastapi_testkit import lifespan_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
async def anyio_client(app):
    # The kit's client, started in anyio's loop; set-up and teardown in one task.
    setup_task = asyncio.current_task()
    async with anyio.create_task_group(), lifespan_client(app) as client:
        yield client
    assert asyncio.current_task() is setup_task


async def test_this_test_is_run_by_anyio_not_pytest_asyncio(request):
    runners = {frame.filename for frame in inspect.stack()}

    assert any("/anyio/" in name for name in runners)
    assert not any("/pytest_asyncio/" in name for name in runners)
    assert request.node.get_closest_marker("asyncio") is None


async def test_health_check_answers_ok(anyio_client):
    response = await anyio_client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok"}


async def test_list_shows_only_published_articles(anyio_client, auth):
    for title, status in [("Published", "published"), ("Draft", "draft")]:
        body = {"title": title, "content": "c", "status": status}
        created = await anyio_client.post("/api/articles/", json=body, headers=auth())
        assert created.status_code == 201, created.text

    response = await anyio_client.get("/api/articles/")

    assert [a["title"] for a in response.json()] == ["Published"]


async def test_a_hit_does_not_touch_the_database(anyio_client, auth):
    body = {"title": "T", "content": "c", "status": "published"}
    url = f"/api/articles/{(await anyio_client.post('/api/articles/', json=body, headers=auth())).json()['id']}"
    await anyio_client.get(url)  # the miss fills the cache
    statements = []
    engine = anyio_client.state["sessionmaker"].kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    hit = await anyio_client.get(url)

    assert hit.json()["title"] == "T"
    assert statements == []
"""


def run_project(pytester: pytest.Pytester, backend: Backend, mode: str, *args: str) -> pytest.RunResult:
    pytester.makeini(STRICT_INI.format(mode=mode))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_anyio_project=ANYIO_TESTS)
    # Not needed there, and the fuzzing plugins alone take seconds to import.
    plugins = ["-p", "no:cacheprovider", "-p", "no:cov", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    # In a process of its own: run inside this one on the real backend, the next test to use
    # asyncpg after it crashed the interpreter (a segmentation fault; cause not traced).
    return pytester.runpytest_subprocess(*plugins, "-p", "no:fastapi_testkit.fuzz", "--backend", backend.value, *args)


def test_in_strict_mode_anyio_runs_the_tests_marked_for_it(pytester: pytest.Pytester, backend: Backend) -> None:
    result = run_project(pytester, backend, "strict")

    result.assert_outcomes(passed=4)


def test_in_auto_mode_pytest_asyncio_claims_them(pytester: pytest.Pytester, backend: Backend) -> None:
    result = run_project(pytester, backend, "auto", "-k", "run_by_anyio")

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(['>*assert any("/anyio/" in name*', "E*assert False"])  # anyio never ran it
