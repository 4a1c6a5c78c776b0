"""The pytest plugin: options, markers, a default timeout and the kit's fixtures.

Registered through the `pytest11` entry point, so installing the package enables it.
"""

import argparse
import asyncio
import importlib.util
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio
from starlette.types import ASGIApp

from fastapi_testkit.backends import (
    DEFAULT_POSTGRES_URL,
    DEFAULT_REDIS_URL,
    Backend,
    BackendUnavailableError,
    check_postgres,
    create_database,
    drop_database,
    drop_mongo_database,
    env_or,
    flush_redis,
    mongo_worker_url,
    redis_worker_url,
    reset_database,
    sqlite_url,
)
from fastapi_testkit.client import LifespanClient, lifespan_client
from fastapi_testkit.live_server import LiveServer, live_server
from fastapi_testkit.snapshot import UPDATE_OPTION, snapshot  # noqa: F401 (a fixture, registered by import)

DEFAULT_TIMEOUT = 30.0
TIMEOUT_INI, MARKERS_INI = "testkit_timeout", "testkit_markers"
# A fuzzing test (one using `fuzz_app`) runs dozens of examples, each a request with its database
# work, inside one test: its hang guard is longer. Still a guard, not a budget.
FUZZ_TIMEOUT = 180.0

# One vocabulary of topics for every suite, so `-m websocket` means the same everywhere. It is
# this repository's: another project lists its own in the `testkit_markers` ini option.
TOPIC_MARKERS = {
    "db": "reads or writes the SQL database",
    "cache": "exercises the Redis cache",
    "auth": "authentication and authorisation",
    "concurrency": "requests that really run at the same time",
    "websocket": "WebSocket endpoints",
    "sse": "Server-Sent Events",
    "background": "background tasks",
    "lifespan": "resources created in the app's lifespan",
    "proxy": "requests forwarded to an upstream service",
    "ratelimit": "limits on how often a client may call",
}

# Tests marked `slow` are deselected unless `--slow` is given, in every project that installs the
# kit: plain `pytest` is the everyday loop. The marker is the kit's, whatever `testkit_markers` lists.
SLOW, SLOW_OPTION = "slow", "--slow"
SLOW_MARKER = f"{SLOW}: real timings on the defaults, or whole processes started; run only with {SLOW_OPTION}"

EMBEDDED_ONLY, REAL_ONLY = "embedded_only", "real_only"
BACKEND_MARKERS = {
    EMBEDDED_ONLY: "cannot run on the real backend; the reason says why",
    REAL_ONLY: "needs the real backend (a server); the reason says why",
}

T = TypeVar("T")
_SLOW_LEFT_OUT = pytest.StashKey[int]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fastapi-testkit")
    try:
        group.addoption(
            SLOW_OPTION,
            action="store_true",
            help=f"also run the tests marked `{SLOW}` (without it they are deselected)",
        )
    # pytest refuses a second option of the same name or destination: argparse's ArgumentError
    # (pytest 9.0) or pytest's own ValueError (later releases).
    except (ValueError, argparse.ArgumentError) as error:
        raise pytest.UsageError(
            f"fastapi-testkit registers {SLOW_OPTION} (run the tests marked `{SLOW}`), and another plugin "
            f"registered it first ({error}); pytest-skip-slow does the same job: uninstall one of them"
        ) from error
    group.addoption(
        "--backend",
        choices=[b.value for b in Backend],
        default=env_or("TESTKIT_BACKEND", Backend.EMBEDDED.value),
        help="embedded (SQLite file, fakeredis; the default) or real (PostgreSQL, Redis). "
        "Environment: TESTKIT_BACKEND.",
    )
    group.addoption(
        "--postgres-url",
        default=env_or("TESTKIT_POSTGRES_URL", DEFAULT_POSTGRES_URL),
        help=f"server for the real backend; each test gets a new database on it (default {DEFAULT_POSTGRES_URL}).",
    )
    group.addoption(
        "--redis-url",
        default=env_or("TESTKIT_REDIS_URL", DEFAULT_REDIS_URL),
        help=f"server for the real backend; each xdist worker flushes its own database number "
        f"(default {DEFAULT_REDIS_URL}).",
    )
    group.addoption(
        "--mongo-url",
        default=env_or("TESTKIT_MONGO_URL", ""),
        help="MongoDB server for the real backend; each xdist worker gets a database of its own, dropped "
        "around every test. No default: unless it is given, `mongo_url` is None (the embedded mongomock) "
        "on both backends. Environment: TESTKIT_MONGO_URL.",
    )
    parser.addini(
        MARKERS_INI,
        type="linelist",
        default=[f"{name}: {description}" for name, description in TOPIC_MARKERS.items()],
        help="the topic markers every suite may use, one `name: description` a line "
        f"(default: db, cache, auth, concurrency, websocket, sse, background, lifespan, proxy, ratelimit; "
        f"`{SLOW}` is always registered)",
    )
    parser.addini(
        TIMEOUT_INI,
        default=str(DEFAULT_TIMEOUT),
        help=f"seconds each test may take unless it has a timeout marker or pytest-timeout's own `timeout` "
        f"is set; 0 gives none (default {DEFAULT_TIMEOUT:g})",
    )
    group.addoption(
        UPDATE_OPTION,
        action="store_true",
        help="rewrite the files the `snapshot` fixture compares with, instead of comparing",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The fuzzing fixture, where its extra (schemathesis) is installed.
    if importlib.util.find_spec("schemathesis") is not None:
        config.pluginmanager.import_plugin("fastapi_testkit.fuzz")
    # pytest-xdist has a `worker_id` fixture of its own; the kit's stands in only without it.
    if not config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.import_plugin("fastapi_testkit.workers")
    listed = config.getini(MARKERS_INI)
    for line in listed:
        config.addinivalue_line("markers", line)
    if not any(line.partition(":")[0].strip() == SLOW for line in listed):
        config.addinivalue_line("markers", SLOW_MARKER)
    for name, description in BACKEND_MARKERS.items():
        config.addinivalue_line("markers", f"{name}(reason): {description}")


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip, with the marker's reason shown in the summary, a test its backend cannot run."""
    backend = Backend(item.config.getoption("backend"))
    for name, skipped_on in ((EMBEDDED_ONLY, Backend.REAL), (REAL_ONLY, Backend.EMBEDDED)):
        marker = item.get_closest_marker(name)
        if marker is None:
            continue
        reason = marker.kwargs.get("reason") or next(iter(marker.args), None)
        if not reason:
            raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{name} needs a reason")
        if backend is skipped_on:
            pytest.skip(f"{name}: {reason}")


def pytest_report_header(config: pytest.Config) -> str:
    return f"fastapi-testkit: backend={config.getoption('backend')}"


@pytest.hookimpl(trylast=True)  # after `-m` and `-k`: what is left of the slow tests is what is counted
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _deselect_slow(config, items)
    _add_timeouts(config, items)


def _deselect_slow(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without `--slow`, deselect the tests marked slow (reported as deselected, and counted at the end)."""
    if config.getoption("slow"):
        return
    slow = [item for item in items if item.get_closest_marker(SLOW) is not None]
    if slow:
        items[:] = [item for item in items if item.get_closest_marker(SLOW) is None]
        config.hook.pytest_deselected(items=slow)
    config.stash[_SLOW_LEFT_OUT] = len(slow)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """One line naming what `--slow` would add. Under pytest-xdist the workers collect, so the
    controller, which prints this, cannot count them."""
    if config.getoption("slow"):
        return
    left_out = config.stash.get(_SLOW_LEFT_OUT, None)
    if left_out is None and config.getoption("dist", "no") != "no":
        terminalreporter.write_line(f"fastapi-testkit: tests marked {SLOW} deselected; {SLOW_OPTION} runs them too")
    elif left_out:
        plural = "s" if left_out > 1 else ""
        terminalreporter.write_line(
            f"fastapi-testkit: {left_out} test{plural} marked {SLOW} deselected; {SLOW_OPTION} runs them too"
        )


def _add_timeouts(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give every test a timeout unless the project chose one, so a hung await fails the test."""
    if config.getoption("timeout", None) is not None or config.getini("timeout"):
        return
    timeout = _default_timeout(config)
    for item in items:
        if item.get_closest_marker("timeout") is not None:
            continue
        if "fuzz_app" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(FUZZ_TIMEOUT))
        elif timeout:
            item.add_marker(pytest.mark.timeout(timeout))


def _default_timeout(config: pytest.Config) -> float:
    value = config.getini(TIMEOUT_INI)
    try:
        timeout = float(value)
    except ValueError:
        timeout = -1.0
    if timeout < 0:
        raise pytest.UsageError(f"{TIMEOUT_INI} = {value!r}: give a number of seconds (0 for no default timeout)")
    return timeout


@pytest.fixture(scope="session")
def backend(pytestconfig: pytest.Config) -> Backend:
    """The backend this run uses: `--backend` or `TESTKIT_BACKEND`."""
    return Backend(pytestconfig.getoption("backend"))


def _stop_run(request: pytest.FixtureRequest, error: BackendUnavailableError) -> None:
    """Fail now, and stop the run: every other test would fail the same way."""
    request.session.shouldstop = str(error)
    pytest.fail(str(error), pytrace=False)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run set-up work for a session-scoped fixture in a loop of its own.

    Session-scoped async fixtures would force a session-wide event loop on every test that
    uses them; these few admin statements do not need the tests' loop.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


@pytest.fixture(scope="session")
def postgres_worker_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of this worker's own on the real server, created once and dropped at the end."""
    admin_url = request.config.getoption("postgres_url")
    try:
        _run(check_postgres(admin_url))
    except BackendUnavailableError as error:
        _stop_run(request, error)
    url = _run(create_database(admin_url))
    yield url
    _run(drop_database(admin_url, url))


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: Backend, tmp_path: Path) -> str:
    """A SQLAlchemy URL of an empty database that belongs to this test alone.

    Embedded: a SQLite file in the test's temporary folder. Real: this worker's database on
    the PostgreSQL server, emptied before the test.
    """
    if backend is Backend.EMBEDDED:
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_worker_database")
    _run(reset_database(url))
    return url


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, backend: Backend, worker_id: str) -> Iterator[str | None]:
    """A Redis URL whose database is empty, or None for the service's embedded fakeredis.

    None is the service's own "no URL set" default: each app then creates a fakeredis with a
    server of its own, so a fresh app per test is a fresh Redis per test. Real: this worker's
    database number, flushed before and after the test.
    """
    if backend is Backend.EMBEDDED:
        yield None
        return
    url = redis_worker_url(request.config.getoption("redis_url"), worker_id)
    try:
        _run(flush_redis(url))
    except BackendUnavailableError as error:
        _stop_run(request, error)
    yield url
    _run(flush_redis(url))


@pytest.fixture
def mongo_url(request: pytest.FixtureRequest, backend: Backend, worker_id: str) -> Iterator[str | None]:
    """A MongoDB URL naming an empty database, or None for the service's embedded mongomock.

    No MongoDB runs on the development and CI machines, so this is None unless the real backend
    runs *and* `--mongo-url` (or TESTKIT_MONGO_URL) names a server. Then it is that server with
    a database of this worker's own (`testkit_gw0`), dropped before and after the test.
    """
    server = request.config.getoption("mongo_url")
    if backend is Backend.EMBEDDED or not server:
        yield None
        return
    url = mongo_worker_url(server, worker_id)
    try:
        _run(drop_mongo_database(url))
    except BackendUnavailableError as error:
        _stop_run(request, error)
    yield url
    _run(drop_mongo_database(url))


@pytest_asyncio.fixture
async def client(app: ASGIApp) -> AsyncIterator[LifespanClient]:
    """An httpx client for the `app` fixture (which the project defines), lifespan running."""
    async with lifespan_client(app) as test_client:
        yield test_client


@pytest_asyncio.fixture(name="live_server")
async def live_server_fixture(app: ASGIApp) -> AsyncIterator[LiveServer]:
    """The `app` fixture served by uvicorn on 127.0.0.1, on a free port."""
    async with live_server(app) as server:
        yield server
