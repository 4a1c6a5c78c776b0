"""The event-loop lesson: why "attached to a different loop" happens, and two fixes side by side.

pytest-asyncio 1.x gives every test a loop of its own unless told otherwise. Anything that
keeps a reference to the loop it was created on (asyncpg's connections, a pool, a client) and
outlives one test fails in the next. Each lesson is a small project run by pytester in its own
process (tests/loop_lessons.py), so the failure is asserted here instead of failing this suite.

The two fixes, measured by `test_fix_*` (ms per test: docs/articles.md, "Event loops"):
- the one this whole suite uses: function-scoped loops, and the app's lifespan creates the
  engine on the test's loop, with a fresh database per test (the kit's `database_url`);
- a session-scoped loop (`loop_scope="session"`), one app and engine for the session, and each
  test inside a transaction rolled back at its end, the app's commits turned into SAVEPOINTs.
"""

import pytest

from fastapi_testkit import Backend

from . import loop_lessons

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.db

TINY_TESTS = 30


@pytest.fixture
def lesson(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, backend: Backend) -> loop_lessons.Runner:
    def run(modules: dict[str, str], *, isolated: bool = False) -> tuple[pytest.RunResult, dict[str, float]]:
        return loop_lessons.run_lesson(pytester, monkeypatch, backend.value, modules, isolated=isolated)

    return run


def test_an_engine_from_a_session_fixture_used_on_function_loops_is_attached_to_a_different_loop(
    lesson: loop_lessons.Runner, database_url: str, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's first test pools a connection bound to its loop; the next test, on a new
    loop, gets that connection back. asyncpg fails; aiosqlite does not (its connection is a
    thread of its own, which answers on whichever loop awaits it), so SQLite hides this bug
    until the suite runs on PostgreSQL."""
    monkeypatch.setenv("LESSON_DATABASE_URL", database_url)
    result, _ = lesson({"test_shared_engine": loop_lessons.SHARED_ENGINE}, isolated=True)

    if backend is Backend.REAL:
        result.assert_outcomes(passed=1, failed=1)
        result.stdout.fnmatch_lines(["*RuntimeError*attached to a different loop*"])
    else:
        result.assert_outcomes(passed=2)


def test_a_session_scoped_async_fixture_without_a_session_scoped_loop_fails(lesson: loop_lessons.Runner) -> None:
    """The article's "session-scoped async fixture", as written: pytest-asyncio refuses it.
    With `loop_scope="session"` on the fixture alone, the tests, still on loops of their own,
    await the fixture's futures from the wrong loop. Only both on the session loop work."""
    result, _ = lesson(
        {
            "test_as_written": loop_lessons.session_fixture(fixture_loop=None, test_loop=None),
            "test_fixture_only": loop_lessons.session_fixture(fixture_loop="session", test_loop=None),
            "test_both": loop_lessons.session_fixture(fixture_loop="session", test_loop="session"),
        }
    )

    result.assert_outcomes(errors=2, failed=2, passed=2)
    result.stdout.fnmatch_lines(
        [
            "*ScopeMismatch*_function_scoped_runner with a session scoped request*",
            "E       RuntimeError: Task * got Future * attached to a different loop",
            "FAILED test_fixture_only.py::test_ping?0? - RuntimeError*",
            "FAILED test_fixture_only.py::test_ping?1? - RuntimeError*",
            "ERROR test_as_written.py::test_ping?0? - Failed: ScopeMismatch*",
            "ERROR test_as_written.py::test_ping?1?*",
        ],
        consecutive=False,
    )


def test_fix_function_loops_with_the_engine_in_the_lifespan_and_a_session_loop_with_savepoints(
    lesson: loop_lessons.Runner, backend: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both fixes pass the same 30 tiny tests, each of which creates an article and must see
    only its own: a fresh database per test, or every test's work rolled back."""
    result, ms_per_test = lesson(
        {
            "test_per_test_app": loop_lessons.per_test_app(TINY_TESTS),
            "test_savepoints": loop_lessons.savepoint_app(TINY_TESTS),
        },
        # asyncpg's first connect in an inline (same-process) pytester run crashed the
        # interpreter (a segmentation fault in its SSL probe): a process of its own.
        isolated=True,
    )

    result.assert_outcomes(passed=2 * TINY_TESTS)
    assert set(ms_per_test) == {"test_per_test_app", "test_savepoints"}
    with capsys.disabled():  # docs/articles.md's numbers: `hatch run articles:test tests/test_event_loops.py -s`
        print(f"\n[{backend.value}] ms per test: " + ", ".join(f"{k} {v:.1f}" for k, v in ms_per_test.items()))


def test_sqlite_savepoints_roll_nothing_back_without_the_pysqlite_recipe(lesson: loop_lessons.Runner) -> None:
    """Without SQLAlchemy's recipe for pysqlite, the rollback at the end of each test undoes
    nothing: the second test already sees the first one's article. SQLite's alone (PostgreSQL
    needs no recipe), so the inner run is on SQLite whatever this run's backend."""
    result, _ = lesson(
        {
            "test_no_recipe": loop_lessons.savepoint_app(2, sqlite_recipe=False).replace(
                'if backend == "embedded"', "if True"
            )
        }
    )

    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: assert ?'T1', 'T0'? == ?'T1'?"])
