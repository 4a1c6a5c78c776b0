import asyncio

import httpx
import pytest

from pitfalls_app import Pool


async def test_the_running_loop_instead_of_the_event_loop_fixture() -> None:
    """The `event_loop` fixture is gone (pytest-asyncio 1.0): asking for it fails with "fixture
    'event_loop' not found". A test that needs its loop asks asyncio for the running one.

    And never `asyncio.get_event_loop().run_until_complete(...)` in an async test, as the article
    says: the loop is already running the test ("RuntimeError: This event loop is already
    running"). Await instead.
    """
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    loop.call_soon(future.set_result, "done")

    assert await future == "done"


async def test_the_app_in_the_tests_own_loop(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/query", params={"q": "select 1"})

    assert response.status_code == 200, response.text
    assert response.json() == {"result": "result of select 1"}


# Each test that uses the session's pool runs in the session's loop too; without the mark it would
# run in a loop of its own, and a real pool would fail ("attached to a different loop"). For a
# whole module: pytestmark = pytest.mark.asyncio(loop_scope="session").
@pytest.mark.asyncio(loop_scope="session")
async def test_a_session_fixture_with_a_test_in_its_loop(pool: Pool) -> None:
    assert await pool.fetch("select 1") == "result of select 1"


async def fetch_answer() -> int:
    return 42


def test_a_coroutine_never_awaited_is_not_its_result() -> None:
    """Calling an async def without `await` gives a coroutine object, which is truthy: `assert
    fetch_answer()` passes. mypy flags the call ("Are you missing an await?"); Python warns when
    the coroutine is dropped, and `filterwarnings = error` turns that into a failed test."""
    coroutine = fetch_answer()
    with pytest.warns(RuntimeWarning, match="coroutine 'fetch_answer' was never awaited"):
        del coroutine  # dropped unawaited
