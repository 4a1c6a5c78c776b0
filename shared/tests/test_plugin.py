"""The plugin as a project sees it: markers, the default timeout, the backend option."""

import pytest

from fastapi_testkit import plugin

from .test_backends import closed_port

CONFIG = """
[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
asyncio_default_test_loop_scope = function
filterwarnings = error
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(CONFIG)
    return pytester


def test_topic_markers_are_registered(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.db
        @pytest.mark.websocket
        @pytest.mark.slow
        def test_marked():
            pass
        """
    )

    result = project.runpytest("--strict-markers", "-m", "websocket", "--slow")

    result.assert_outcomes(passed=1)


SLOW_AND_NOT = """
    import pytest

    @pytest.mark.slow
    @pytest.mark.db
    def test_slow_db():
        pass

    @pytest.mark.db
    def test_db():
        pass

    def test_plain():
        pass
    """


def test_tests_marked_slow_are_deselected_by_default_and_say_how_to_run_them(project: pytest.Pytester) -> None:
    project.makepyfile(SLOW_AND_NOT)

    result = project.runpytest("-q")

    result.assert_outcomes(passed=2, deselected=1)
    result.stdout.fnmatch_lines(["fastapi-testkit: 1 test marked slow deselected; --slow runs them too"])


def test_the_slow_option_runs_them_too(project: pytest.Pytester) -> None:
    project.makepyfile(SLOW_AND_NOT)

    result = project.runpytest("--slow")

    result.assert_outcomes(passed=3)
    result.stdout.no_fnmatch_line("*marked slow deselected*")


@pytest.mark.parametrize(("options", "passed"), [((), 1), (("--slow",), 2)])
def test_a_marker_expression_still_selects_within_them(
    project: pytest.Pytester, options: tuple[str, ...], passed: int
) -> None:
    project.makepyfile(SLOW_AND_NOT)

    result = project.runpytest("-m", "db", *options)

    result.assert_outcomes(passed=passed, deselected=3 - passed)


def test_another_plugins_slow_option_is_a_usage_error_naming_both(project: pytest.Pytester) -> None:
    project.makepyfile(
        other_slow="""
        def pytest_addoption(parser):
            parser.addoption("--slow", action="store_true")
        """
    )
    project.syspathinsert()

    result = project.runpytest("-p", "other_slow")

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*fastapi-testkit registers --slow*another plugin registered it first*"])


def test_a_hung_test_fails_at_the_default_timeout(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import asyncio
        import pytest

        @pytest.mark.timeout(0.5)
        async def test_hangs():
            await asyncio.Event().wait()

        def test_has_the_default(request):
            assert request.node.get_closest_marker("timeout").args == (30.0,)
        """
    )

    result = project.runpytest()

    result.assert_outcomes(passed=1, failed=1)
    # pytest-timeout 2.4 says "Timeout (>0.5s) from pytest-timeout", 2.3 "Timeout >0.5s".
    result.stdout.fnmatch_lines(["*Failed: Timeout*>0.5s*"])


def test_a_configured_timeout_is_left_alone(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_no_marker_added(request):
            assert request.node.get_closest_marker("timeout") is None
        """
    )

    project.runpytest("--timeout", "7").assert_outcomes(passed=1)


def test_an_unreachable_real_backend_fails_at_once_and_says_how_to_fix_it(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_one(database_url):
            pass

        def test_two(database_url):
            pass
        """
    )
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test"

    result = project.runpytest("--backend", "real", "--postgres-url", url)

    assert result.ret != 0
    result.assert_outcomes(errors=1)  # the run stopped after the first
    result.stdout.fnmatch_lines([f"*PostgreSQL at {url} did not answer*pg_ctlcluster*"])


def test_the_backend_can_come_from_the_environment(project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESTKIT_BACKEND", "real")
    project.makepyfile(
        """
        def test_backend(backend):
            assert backend == "real"
        """
    )

    result = project.runpytest()

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["fastapi-testkit: backend=real"])


def test_the_real_backend_fixtures_prepare_and_clean_up_in_order(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wiring of the real-backend fixtures, with the server calls recorded instead of made.

    (Against real servers the same fixtures run in every `--backend real` suite.)
    """
    calls: list[tuple[str, str]] = []
    admin, worker, redis = "postgresql+asyncpg://h/admin", "postgresql+asyncpg://h/worker", "redis://h:1/3"

    async def record(name: str, url: str, result: str | None = None) -> str | None:
        calls.append((name, url))
        return result

    monkeypatch.setattr(plugin, "check_postgres", lambda url: record("check", url))
    monkeypatch.setattr(plugin, "create_database", lambda url: record("create", url, worker))
    monkeypatch.setattr(plugin, "reset_database", lambda url: record("reset", url))
    monkeypatch.setattr(plugin, "drop_database", lambda admin_url, url: record("drop", url))
    monkeypatch.setattr(plugin, "flush_redis", lambda url: record("flush", url))
    project.makepyfile(
        f"""
        def test_one(database_url, redis_url):
            assert (database_url, redis_url) == ("{worker}", "{redis}")

        def test_two(database_url):
            assert database_url == "{worker}"
        """
    )

    result = project.runpytest("--backend", "real", "--postgres-url", admin, "--redis-url", redis)

    result.assert_outcomes(passed=2)
    assert calls == [
        ("check", admin),
        ("create", admin),
        ("reset", worker),
        ("flush", redis),
        ("flush", redis),
        ("reset", worker),
        ("drop", worker),
    ]


def test_an_unreachable_real_redis_fails_with_its_url(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        def test_one(redis_url):
            pass
        """
    )
    url = f"redis://127.0.0.1:{closed_port()}/0"

    result = project.runpytest("--backend", "real", "--redis-url", url)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*Redis at {url} did not answer*redis-server*"])


@pytest.mark.parametrize(("backend", "skipped"), [("embedded", "test_real"), ("real", "test_embedded")])
def test_backend_markers_skip_with_their_reason(project: pytest.Pytester, backend: str, skipped: str) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.real_only(reason="needs a server's behaviour")
        def test_real():
            pass

        @pytest.mark.embedded_only("inspects fakeredis internals")
        def test_embedded():
            pass
        """
    )

    result = project.runpytest("-ra", "--backend", backend)

    result.assert_outcomes(passed=1, skipped=1)
    reason = "needs a server's behaviour" if skipped == "test_real" else "inspects fakeredis internals"
    result.stdout.fnmatch_lines([f"SKIPPED*{reason}*"])


def test_a_backend_marker_without_a_reason_is_an_error(project: pytest.Pytester) -> None:
    project.makepyfile(
        """
        import pytest

        @pytest.mark.real_only
        def test_real():
            pass
        """
    )

    result = project.runpytest()

    assert result.ret != 0
    result.stdout.fnmatch_lines(["*real_only needs a reason*"])


@pytest.mark.timeout(120)  # a whole pytest started in a subprocess, on a loaded machine
def test_a_project_lists_its_own_topic_markers(project: pytest.Pytester) -> None:
    project.makeini(CONFIG + "testkit_markers =\n    payments: moves money\n    search\n")
    project.makepyfile(
        test_ours="""
        import pytest

        @pytest.mark.payments
        @pytest.mark.search
        def test_ours():
            pass
        """,
        test_theirs="""
        import pytest

        @pytest.mark.websocket
        def test_this_repositorys():
            pass
        """,
        test_slow="""
        import pytest

        @pytest.mark.slow
        def test_slow():
            pass
        """,
    )

    # A process of its own: pytest caches marker names it has seen registered (this run's
    # `websocket`) in the process-wide `pytest.mark`. One process, the slow part, for both files.
    result = project.runpytest_subprocess(
        "--strict-markers", "-p", "no:cacheprovider", "-p", "no:xdist", "--continue-on-collection-errors", "--slow"
    )

    result.assert_outcomes(passed=2, errors=1)  # ours pass, and `slow` (the kit's own marker) is still one ...
    # ... and the listed vocabulary replaces the default one: `websocket` is no longer a marker there.
    result.stdout.fnmatch_lines(["*ERROR collecting test_theirs.py*", "*'websocket' not found in `markers`*"])


@pytest.mark.parametrize(("setting", "marker"), [("7", (7.0,)), ("0", None)])
def test_the_default_timeout_is_an_ini_option(project: pytest.Pytester, setting: str, marker: object) -> None:
    project.makeini(CONFIG + f"testkit_timeout = {setting}\n")
    project.makepyfile(
        f"""
        def test_marker(request):
            found = request.node.get_closest_marker("timeout")
            assert (found and found.args) == {marker!r}
        """
    )

    project.runpytest().assert_outcomes(passed=1)


def test_a_default_timeout_that_is_not_a_number_is_a_usage_error(project: pytest.Pytester) -> None:
    project.makeini(CONFIG + "testkit_timeout = soon\n")
    project.makepyfile("def test_one(): pass")

    result = project.runpytest()

    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*testkit_timeout = 'soon': give a number of seconds*"])


@pytest.mark.parametrize("xdist", [True, False], ids=["with-xdist", "without-xdist"])
def test_worker_id_is_xdists_own_where_xdist_is_loaded(project: pytest.Pytester, xdist: bool) -> None:
    project.makepyfile(
        f"""
        def test_worker(request, worker_id):
            assert worker_id == "master"
            fixture = request._fixturemanager.getfixturedefs("worker_id", request.node)[-1]
            assert fixture.func.__module__ == {"xdist.plugin" if xdist else "fastapi_testkit.workers"!r}
        """
    )

    project.runpytest(*([] if xdist else ["-p", "no:xdist"])).assert_outcomes(passed=1)
