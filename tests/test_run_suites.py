"""scripts/run_suites.py: every suite runs, failures do not stop the rest, the summary tells."""

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts import run_suites


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[str]]]:
    """Record the commands instead of running them; the articles suite 'fails'."""
    seen: list[tuple[str, list[str]]] = []

    def fake_run(
        name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None, *, capture: bool = False
    ) -> run_suites.Result:
        seen.append((name, command))
        return run_suites.Result(name, 1 if name == "articles" else 0, 0.1)

    monkeypatch.setattr(run_suites, "run", fake_run)
    monkeypatch.setattr(run_suites, "services", lambda: ["articles", "zeta"])
    monkeypatch.setattr(run_suites, "hatch", lambda: "hatch")
    return seen


def test_a_failing_suite_does_not_stop_the_others(
    commands: list[tuple[str, list[str]]], capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_suites.main([])

    assert code == 1
    assert sorted(name for name, _ in commands) == ["articles", "examples", "kit", "repo", "zeta"]
    out = capsys.readouterr().out
    summary = out[out.index("=== summary") :].splitlines()
    assert summary[1].startswith("repo      passed")  # the reading order, whatever the finishing order
    assert "articles  FAILED (exit 1)" in out
    assert "zeta      passed" in out
    assert [line.split()[0] for line in summary[1:6]] == ["repo", "kit", "articles", "zeta", "examples"]
    assert "4 passed, 1 failed: articles" in out


def test_slow_tests_are_left_to_the_kit_unless_the_slow_flag_passes_through_and_a_callers_marks_are_kept(
    commands: list[tuple[str, list[str]]],
) -> None:
    run_suites.main(["-m", "cache"])
    run_suites.main(["--slow", "-m", "cache"])

    for name in ("repo", "kit", "zeta"):
        runs = [command for seen, command in commands if seen == name]
        assert runs[0][-2:] == ["-m", "cache"]  # the kit's plugin deselects the slow tests
        assert runs[1][-3:] == ["-m", "cache", "--slow"]
    examples = [command for name, command in commands if name == "examples"]
    # The examples have no kit (so no `--slow` option) and no slow tests.
    assert examples == [["hatch", "run", "examples:test", "-m", "cache"]] * 2


def test_coverage_measures_the_whole_suite_slow_tests_included(commands: list[tuple[str, list[str]]]) -> None:
    run_suites.main(["--cov"])

    pytest_runs = [command for _, command in commands if "pytest" in command or command[2].endswith(":cov")]
    assert len(pytest_runs) == 4  # repo, kit (under `coverage run`), articles, zeta
    assert all(command[-1] == "--slow" for command in pytest_runs)


def test_embedded_suites_run_side_by_side_in_one_process_each_real_ones_in_sequence_with_two_workers(
    commands: list[tuple[str, list[str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    jobs: list[int] = []
    run_all = run_suites.run_all

    def counting(suites: dict[str, Callable[[], run_suites.Result]], n: int) -> list[run_suites.Result]:
        jobs.append(n)
        return run_all(suites, n)

    monkeypatch.setattr(run_suites, "run_all", counting)

    run_suites.main([])
    run_suites.main(["--backend", "real"])

    assert jobs == [2, 1]
    zeta = [command for name, command in commands if name == "zeta"]
    assert zeta[0][5:7] == ["-n", "0"]
    assert zeta[1][5:7] == ["-n", "2"]


def test_each_service_runs_in_its_own_environment_with_the_arguments(commands: list[tuple[str, list[str]]]) -> None:
    run_suites.main(["--backend", "real", "--slow", "-x"])

    assert dict(commands)["zeta"] == ["hatch", "run", "zeta:test", "--backend", "real", "-n", "2", "-x", "--slow"]
    assert dict(commands)["repo"][-7:] == [
        "--ignore=tests/test_copy_out.py",
        "--backend",
        "real",
        "-n",
        "2",
        "-x",
        "--slow",
    ]
    # The examples have no kit (no --backend, no --slow) and no xdist (no -n): the caller's arguments only.
    assert dict(commands)["examples"] == ["hatch", "run", "examples:test", "-x"]


def test_the_callers_choice_of_workers_wins(commands: list[tuple[str, list[str]]]) -> None:
    run_suites.main(["--slow", "-n", "4"])

    assert dict(commands)["zeta"] == ["hatch", "run", "zeta:test", "--backend", "embedded", "-n", "4", "--slow"]
    assert dict(commands)["examples"] == ["hatch", "run", "examples:test"]  # no xdist there


@pytest.fixture
def busy_loops(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """The busy-loop processes `--busy` starts, as they were started."""
    started: list[subprocess.Popen[bytes]] = []
    busy_machine = run_suites.busy_machine

    @contextmanager
    def recording(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
        with busy_machine(count) as processes:
            started.extend(processes)
            yield processes

    monkeypatch.setattr(run_suites, "busy_machine", recording)
    return started


@pytest.mark.parametrize("suite_fails", [False, True], ids=["passing", "raising"])
def test_busy_runs_every_suite_beside_two_busy_loops_at_its_priority_stopped_at_the_end(
    busy_loops: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch, suite_fails: bool
) -> None:
    running: list[bool] = []

    def fake_run(
        name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None, *, capture: bool = False
    ) -> run_suites.Result:
        running.append(len(busy_loops) == 2 and all(p.poll() is None for p in busy_loops))
        if suite_fails and name == "zeta":
            raise RuntimeError("a suite's runner broke")
        return run_suites.Result(name, 0, 0.1)

    monkeypatch.setattr(run_suites, "run", fake_run)
    monkeypatch.setattr(run_suites, "services", lambda: ["zeta"])
    monkeypatch.setattr(run_suites, "hatch", lambda: "hatch")

    if suite_fails:
        with pytest.raises(RuntimeError):
            run_suites.main(["--busy"])
    else:
        assert run_suites.main(["--busy"]) == 0

    assert running == [True] * 4  # repo, kit, zeta, examples: each with both loops spinning
    assert [p.args for p in busy_loops] == [[sys.executable, "-c", "while True: pass"]] * 2
    assert all(p.poll() is not None for p in busy_loops)  # and stopped at the end, whatever happened


def test_busy_loops_run_at_the_tests_own_priority(busy_loops: list[subprocess.Popen[bytes]]) -> None:
    with run_suites.busy_machine(2) as processes:
        priorities = {os.getpriority(os.PRIO_PROCESS, p.pid) for p in processes}

    assert priorities == {os.getpriority(os.PRIO_PROCESS, 0)}


def test_without_busy_no_loop_is_started(
    commands: list[tuple[str, list[str]]], busy_loops: list[subprocess.Popen[bytes]]
) -> None:
    run_suites.main([])

    assert busy_loops == []


@pytest.mark.parametrize(
    "args",
    [["-n", "4", "-x"], ["-n4", "-x"], ["--numprocesses=4", "-x"], ["--dist", "load", "-x"], ["--dist=load", "-x"]],
)
def test_the_examples_get_the_arguments_without_xdists(args: list[str]) -> None:
    assert run_suites.without_workers(args) == ["-x"]


def test_coverage_runs_each_services_cov_script(commands: list[tuple[str, list[str]]]) -> None:
    run_suites.main(["--cov", "--slow", "--jobs", "1"])

    assert dict(commands)["zeta"] == ["hatch", "run", "zeta:cov", "--backend", "embedded", "-n", "2", "--slow"]
    kit = [command[3:] for name, command in commands if name == "kit"]
    assert "-n" not in kit[0]  # coverage run does not follow xdist's workers
    assert kit[0][:3] == ["run", "-m", "pytest"]  # coverage run: the kit is a plugin (see run_kit)
    assert kit[1][0] == "html"
    assert kit[2] == ["report"]


def test_a_suite_that_selected_nothing_is_neither_passed_nor_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_run(
        name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None, *, capture: bool = False
    ) -> run_suites.Result:
        return run_suites.Result(name, 0 if name == "zeta" else run_suites.NO_TESTS_COLLECTED, 0.1)

    monkeypatch.setattr(run_suites, "run", fake_run)
    monkeypatch.setattr(run_suites, "services", lambda: ["articles", "zeta"])
    monkeypatch.setattr(run_suites, "hatch", lambda: "hatch")

    code = run_suites.main(["-m", "cache"])

    out = capsys.readouterr().out
    assert code == 0
    assert "articles  nothing selected" in out
    assert "zeta      passed" in out
    assert out.splitlines()[-2] == "1 passed, 4 nothing selected, 0 failed"  # repo, kit, articles, examples


def test_nothing_selected_is_not_a_failure_when_selecting() -> None:
    nothing = run_suites.Result("kit", run_suites.NO_TESTS_COLLECTED, 0.1)

    assert run_suites.verdict(nothing, selecting=True) == "nothing selected"
    assert run_suites.verdict(nothing, selecting=False) == "FAILED (exit 5)"


def test_services_are_the_folders_with_a_project_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in ("beta", "alpha", "notes"):
        (tmp_path / "services" / folder).mkdir(parents=True)
    for folder in ("beta", "alpha"):
        (tmp_path / "services" / folder / "pyproject.toml").touch()
    monkeypatch.setattr(run_suites, "ROOT", tmp_path)

    assert run_suites.services() == ["alpha", "beta"]  # sorted; a folder without one is not a service


COVERAGE_CONFIGS = [
    *sorted((run_suites.ROOT / "services").glob("*/pyproject.toml")),
    run_suites.ROOT / "shared/pyproject.toml",
]


def coverage_report_config(pyproject: Path) -> dict[str, object]:
    config: dict[str, object] = tomllib.loads(pyproject.read_text())["tool"]["coverage"]["report"]
    return config


def test_a_suite_under_its_coverage_floor_fails(tmp_path: Path) -> None:
    report = coverage_report_config(COVERAGE_CONFIGS[0])
    # 26 of 29 statements run: 89.66%, which coverage's default precision (0) rounds up to 90.
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    body = "".join(f"    x{i} = {i}\n" for i in range(24))
    (tmp_path / "pkg" / "code.py").write_text(
        f"def used():\n{body}\n\ndef unused():\n    a = 1\n    b = 2\n    c = 3\n"
    )
    (tmp_path / "test_code.py").write_text("from pkg.code import used\n\n\ndef test_used():\n    used()\n")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.pytest.ini_options]\n[tool.coverage.run]\nbranch = true\nsource = ['pkg']\n"
        f"[tool.coverage.report]\nfail_under = {report['fail_under']}\nprecision = {report.get('precision', 0)}\n"
    )

    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # pytest-cov alone: no plugin else is needed
    command = [sys.executable, "-m", "pytest", "-p", "pytest_cov.plugin", "--cov", "-p", "no:cacheprovider"]

    result = run_suites.run("floor", command, tmp_path, env)

    assert run_suites.verdict(result, selecting=False) == "FAILED (exit 1)"


@pytest.mark.parametrize("pyproject", COVERAGE_CONFIGS, ids=lambda p: p.parent.name)
def test_every_suite_has_that_floor_and_precision(pyproject: Path) -> None:
    report = coverage_report_config(pyproject)

    assert (report["fail_under"], report["precision"]) == (90, 1)
