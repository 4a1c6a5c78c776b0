"""Small pytest projects for test_event_loops.py, run by pytester in a process of their own.

Each lesson is a project whose tests fail (or pass) the way a user's would, so the outer test
can assert the failure without failing itself. The kit (a pytest plugin) is active there too, so `--backend real`
gives the inner run PostgreSQL exactly as it gives ours. Most run in this process (pytester's
inline run: no start-up to pay); the one that leaks runs in a process of its own.
"""

import json
from collections.abc import Callable
from pathlib import Path

import pytest

# `lesson(modules, isolated=False)` (test_event_loops.py's fixture): the result, ms per test by module.
Runner = Callable[..., tuple[pytest.RunResult, dict[str, float]]]

# The same strict configuration as the suites': function-scoped loops unless a test says otherwise.
INI = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""

# Sums every phase of every test (set-up, call, tear-down; session fixtures are in the first
# test's set-up) into the file LESSON_TIMINGS names: the cost per test, without the start-up.
TIMING_PLUGIN = """
import json, os
_totals = {}

def pytest_runtest_logreport(report):
    module = _totals.setdefault(report.nodeid.split("::")[0], {"seconds": 0.0, "tests": 0})
    module["seconds"] += report.duration
    module["tests"] += report.when == "call"

def pytest_sessionfinish(session):
    with open(os.environ["LESSON_TIMINGS"], "w") as out:
        json.dump(_totals, out)
"""

# 1. The bug: one engine for the session, created outside any test's loop, used by tests that
# each run on a loop of their own. The first test leaves a pooled connection bound to its loop.
SHARED_ENGINE = """
import os
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

@pytest.fixture(scope="session")
def engine():
    return create_async_engine(os.environ["LESSON_DATABASE_URL"])

@pytest.mark.parametrize("n", range(2))
async def test_query(engine, n):
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT 1"))).scalar() == 1
"""

# 2. A session-scoped async fixture. LOOP_SCOPES fills in the fixture's and the tests' loop scopes.
SESSION_FIXTURE = """
import asyncio
import pytest
import pytest_asyncio

class Resource:
    # What a pool or client does: it keeps the loop it was created on and awaits futures of it.
    def __init__(self):
        self.loop = asyncio.get_running_loop()

    async def ping(self):
        future = self.loop.create_future()
        self.loop.call_soon(future.set_result, "pong")
        return await future

@pytest_asyncio.fixture(scope="session"{fixture_loop})
async def resource():
    yield Resource()

{test_mark}
@pytest.mark.parametrize("n", range(2))
async def test_ping(resource, n):
    assert await resource.ping() == "pong"
"""

# 3a. The fix this suite uses: function-scoped loops; the app's lifespan creates the engine, per test, on
# the test's loop; the kit's `database_url` is a fresh database per test.
PER_TEST_APP = (
    """
import pytest
from articles.app import create_app
from articles.settings import Settings
from fastapi_testkit import create_token, lifespan_client

SECRET = "test-secret-that-is-at-least-32-bytes"
AUTH = {"Authorization": f"Bearer {create_token('alice', SECRET)}"}

@pytest.fixture
async def client(database_url):
    app = create_app(Settings(database_url=database_url, redis_url=None, jwt_secret=SECRET, cache_ttl=60))
    async with lifespan_client(app) as client:
        yield client
"""
    + "{tests}"
)

# 3b. The other fix: one loop for the session, one app and engine; each test runs inside a
# transaction of its own connection that is rolled back at the end. The session the routes get
# is bound to that connection and turns the app's commits into SAVEPOINTs
# (join_transaction_mode="create_savepoint": SQLAlchemy's "joining a session into an external
# transaction"). RECIPE is pysqlite's SAVEPOINT fix (below), or nothing.
SAVEPOINT_APP = (
    """
import pytest
import pytest_asyncio
from sqlalchemy import delete, event
from sqlalchemy.ext.asyncio import AsyncSession
from articles.app import create_app
from articles.dependencies import get_session
from articles.models import Article
from articles.settings import Settings
from articles.storage import create_tables
from service_runtime.sql import create_engine
from fastapi_testkit import create_token, lifespan_client, override_dependencies

SECRET = "test-secret-that-is-at-least-32-bytes"
AUTH = {"Authorization": f"Bearer {create_token('alice', SECRET)}"}
pytestmark = pytest.mark.asyncio(loop_scope="session")

@pytest.fixture(scope="session")
def session_database_url(request, backend, tmp_path_factory):
    if backend == "embedded":
        return f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    return request.getfixturevalue("postgres_worker_database")

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def engine(session_database_url):
    engine = create_engine(session_database_url)
    {recipe}
    await create_tables(engine)
    async with engine.begin() as connection:  # empty at the start; then every test rolls back
        await connection.execute(delete(Article))
    yield engine
    await engine.dispose()

@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def app_client(session_database_url):
    app = create_app(Settings(database_url=session_database_url, redis_url=None, jwt_secret=SECRET, cache_ttl=60))
    async with lifespan_client(app) as client:
        yield app, client

@pytest_asyncio.fixture(loop_scope="session")
async def client(engine, app_client):
    app, client = app_client
    async with engine.connect() as connection:
        transaction = await connection.begin()
        session = AsyncSession(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)

        async def the_tests_session():
            yield session

        with override_dependencies(app, {get_session: the_tests_session}):
            yield client
        await session.close()
        await transaction.rollback()
"""
    + "{tests}"
)

# pysqlite (and aiosqlite, built on it) begins transactions lazily and its own way, which
# breaks SAVEPOINT: SQLAlchemy's documented fix takes BEGIN over ("Serializable isolation /
# Savepoints / Transactional DDL" in its SQLite dialect docs).
SQLITE_RECIPE = """if engine.dialect.name == "sqlite":
        @event.listens_for(engine.sync_engine, "connect")
        def _no_pysqlite_transactions(dbapi_connection, record):
            dbapi_connection.isolation_level = None

        @event.listens_for(engine.sync_engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN")"""

# The same tiny test for both fixes: create one article, see exactly it (isolation).
TINY_TESTS = """
@pytest.mark.parametrize("n", range({count}))
async def test_create_then_list(client, n):
    body = {{"title": f"T{{n}}", "content": "c", "status": "published"}}
    created = await client.post("/api/articles/", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    listed = (await client.get("/api/articles/")).json()
    assert [a["title"] for a in listed] == [f"T{{n}}"]
"""


def per_test_app(count: int) -> str:
    return PER_TEST_APP.replace("{tests}", TINY_TESTS.format(count=count))


def savepoint_app(count: int, *, sqlite_recipe: bool = True) -> str:
    source = SAVEPOINT_APP.replace("{recipe}", SQLITE_RECIPE if sqlite_recipe else "pass")
    return source.replace("{tests}", TINY_TESTS.format(count=count))


def session_fixture(*, fixture_loop: str | None, test_loop: str | None) -> str:
    return SESSION_FIXTURE.format(
        fixture_loop=f', loop_scope="{fixture_loop}"' if fixture_loop else "",
        test_mark=f'@pytest.mark.asyncio(loop_scope="{test_loop}")' if test_loop else "",
    )


def run_lesson(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
    modules: dict[str, str],
    *,
    isolated: bool = False,
) -> tuple[pytest.RunResult, dict[str, float]]:
    """Run `modules` (name: source) as one project; its result, and ms per test of each module.

    In this process unless `isolated`: a lesson that leaves connections of a dead loop behind
    runs in a process of its own, so that what it leaks cannot reach this suite.
    """
    timings = pytester.path / "timings.json"
    monkeypatch.setenv("LESSON_TIMINGS", str(timings))
    pytester.makeini(INI)
    pytester.makeconftest(TIMING_PLUGIN)
    pytester.makepyfile(**modules)
    # Not needed there, and the fuzzing plugins alone take seconds to import.
    args = ["-p", "no:cacheprovider", "-p", "no:cov", "-p", "no:hypothesispytest", "-p", "no:schemathesis"]
    args += ["-p", "no:fastapi_testkit.fuzz"]
    args += ["--backend", backend, "-q"]
    result = pytester.runpytest_subprocess(*args, timeout=120) if isolated else pytester.runpytest(*args)
    totals = json.loads(timings.read_text()) if timings.is_file() else {}
    per_test = {Path(name).stem: 1000 * t["seconds"] / max(t["tests"], 1) for name, t in totals.items()}
    return result, per_test
