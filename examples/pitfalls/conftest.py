"""Which event loop each fixture runs in (pytest-asyncio 1.x).

An async test runs in a loop of its loop scope (`asyncio_default_test_loop_scope`, function here:
a new loop per test), an async fixture in one of its own (`asyncio_default_fixture_loop_scope`;
left unset, pytest-asyncio warns). What a fixture yields bound to its loop (a pool, a client) is
usable only by tests running in that same loop.

The article's session fixture, `@pytest_asyncio.fixture(scope="session")` alone, is still in a
function's loop, so every test using it errors at set-up: "ScopeMismatch: You tried to access the
function scoped fixture _function_scoped_runner with a session scoped request object".
"""

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from asgi_lifespan import LifespanManager

from pitfalls_app import Pool, app


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def pool() -> AsyncIterator[Pool]:
    """Opened once, in the session's loop: only tests marked to run in that loop may use it."""
    yield Pool()


@pytest.fixture  # in auto mode a plain fixture may be async; loop_scope needs pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """The app, lifespan and all, in each test's own loop: the default, and the one to start with."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client
