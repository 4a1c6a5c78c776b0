"""Run every suite in its own environment, go on past failures, and end with a summary.

`hatch run test` calls this (see hatch.toml for why it is a script and not a matrix run).
The repo-level tests and the kit's tests run here, in the default environment; each service
runs as `hatch run <service>:test`, in the environment that holds only its dependencies; the
kit-free examples run as `hatch run examples:test`, all folders in one pytest process.
"""

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5  # pytest's exit code when a selection matched nothing
# How suites share this 2-core machine (bench/README.md, "The test loop", has the figures):
# - embedded backend: two suites side by side, each in one pytest process. Two xdist workers per
#   suite, in sequence, took 99 s: each worker imports everything and collects every test again
#   (3 s of a suite's 11), which two suites at once, one process each, spend only once: 56 s.
#   Nothing is shared between suites there (SQLite files in tmp_path, fakeredis in process).
# - real backend: one suite after another, each with two xdist workers, whose databases the kit
#   keeps apart; suites in sequence, so their Redis and PostgreSQL ranges never meet.
SIDE_BY_SIDE, ONE_PROCESS = 2, ["-n", "0"]
IN_SEQUENCE, TWO_WORKERS = 1, ["-n", "2"]
# Installs and runs every suite again in fresh folders: its own command (`hatch run test-copy`).
COPY_OUT = "tests/test_copy_out.py"
# Tests marked `slow` (real timings on the services' defaults, whole systems started, processes
# killed) are deselected by the kit's plugin in every suite unless it gets `--slow`: the everyday
# loop stays under 90 s. Coverage is a measure of the whole suite, so `--cov` runs them too.
SLOW = "--slow"
# Longest first, so that side by side the two lanes end together (the repo's whole-system tests
# are the longest with --slow); the summary keeps the reading order.
START_ORDER = ["repo", "articles", "kit", "chat", "events", "processing", "gateway", "examples"]
# The examples install plain pytest and pytest-asyncio only: no kit (so no `--backend`) and no
# xdist (so no `-n`); they need no server, run in one process in a few seconds, and are not
# measured by `--cov` (they are not the code under measure).
EXAMPLES = "examples"
XDIST_OPTIONS = ("-n", "--numprocesses", "--dist", "--maxprocesses")
# `--busy`: a shared CI runner, imitated: processes that spin at the tests' own priority (they
# inherit its nice level) for the whole run, so every timing in the suites meets a busy machine.
BUSY_LOOP = "while True: pass"
BUSY_PROCESSES = 2
_print_lock = threading.Lock()


@dataclass
class Result:
    name: str
    code: int
    seconds: float


def services() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def hatch() -> str:
    found = shutil.which("hatch")
    if found is None:
        sys.exit("run_suites: `hatch` is not on PATH; install it (README) and run `hatch run test` from the root.")
    return found


def child_env() -> dict[str, str]:
    """The environment for a nested `hatch run`, without the default environment's activation."""
    env = dict(os.environ)
    for name in ("HATCH_ENV_ACTIVE", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def run(
    name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None, *, capture: bool = False
) -> Result:
    """Run one command. `capture`: print its output as one block when it ends (suites side by side)."""
    header = f"\n=== {name}: {' '.join(command)}"
    start = time.monotonic()
    if not capture:
        print(header, flush=True)
        code = subprocess.run(command, cwd=cwd, env=env, check=False).returncode
        return Result(name, code, time.monotonic() - start)
    done = subprocess.run(command, cwd=cwd, env=env, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    with _print_lock:
        print(header, flush=True)
        sys.stdout.buffer.write(done.stdout)
        sys.stdout.flush()
    return Result(name, done.returncode, time.monotonic() - start)


def run_kit(pytest_args: list[str], *, cov: bool, capture: bool = False) -> Result:
    """The kit's own tests. Coverage is measured with `coverage run`, not pytest-cov: the kit is
    a pytest plugin, imported before pytest-cov starts, so pytest-cov would miss its top level."""
    python, kit = sys.executable, ROOT / "shared"
    if not cov:
        return run("kit", [python, "-m", "pytest", *pytest_args], kit, capture=capture)
    start = time.monotonic()
    result = run("kit", [python, "-m", "coverage", "run", "-m", "pytest", *pytest_args], kit, capture=capture)
    if result.code == 0:
        run("kit", [python, "-m", "coverage", "html", "-d", str(ROOT / "htmlcov" / "kit")], kit, capture=capture)
        result = run("kit", [python, "-m", "coverage", "report"], kit, capture=capture)
    return Result("kit", result.code, time.monotonic() - start)  # the time of all three steps


NOTHING = "nothing selected"


def without_workers(pytest_args: list[str]) -> list[str]:
    """The arguments without pytest-xdist's options (and their values), for the examples."""
    args: list[str] = []
    it = iter(pytest_args)
    for arg in it:
        if arg in XDIST_OPTIONS:
            next(it, None)  # its value: `-n 2`
        elif not arg.startswith(XDIST_OPTIONS):  # `-n2`, `--dist=load` are dropped whole
            args.append(arg)
    return args


def verdict(result: Result, *, selecting: bool) -> str:
    """passed, nothing selected (a selection that matched none of the suite's tests: neither
    passed nor failed), or FAILED."""
    if result.code == 0:
        return "passed"
    if result.code == NO_TESTS_COLLECTED and selecting:
        return NOTHING
    return f"FAILED (exit {result.code})"


def tally(verdicts: list[tuple[str, str]]) -> str:
    """The closing line: passed, nothing selected (apart: neither passed nor failed), failed."""
    passed = sum(v == "passed" for _, v in verdicts)
    nothing = sum(v == NOTHING for _, v in verdicts)
    failed = [name for name, v in verdicts if v.startswith("FAILED")]
    line = f"{passed} passed" + (f", {nothing} {NOTHING}" if nothing else "") + f", {len(failed)} failed"
    return line + (f": {', '.join(failed)}" if failed else "")


@contextmanager
def busy_machine(count: int) -> Iterator[list[subprocess.Popen[bytes]]]:
    """`count` busy-loop processes for the length of the block; killed at its end, whatever happens."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for _ in range(count):
            processes.append(subprocess.Popen([sys.executable, "-c", BUSY_LOOP]))
        if processes:
            print(f"=== {count} busy-loop processes beside the suites: pids {[p.pid for p in processes]}", flush=True)
        yield processes
    finally:
        for process in processes:
            process.kill()
            process.wait()


def run_all(suites: dict[str, Callable[[], Result]], jobs: int) -> list[Result]:
    """Every suite, `jobs` at a time, longest first; the results in the suites' own order."""
    order = sorted(suites, key=lambda name: START_ORDER.index(name) if name in START_ORDER else len(START_ORDER))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {name: pool.submit(suites[name]) for name in order}
    return [futures[name].result() for name in suites]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "real"], default="embedded")
    parser.add_argument(
        "--cov", action="store_true", help="measure branch coverage of each service and the kit (slow tests too)"
    )
    parser.add_argument("--slow", action="store_true", help="also run the tests marked slow (CI does)")
    parser.add_argument("--jobs", type=int, help="suites at once (default: 2 embedded, 1 real; 1 = live output)")
    parser.add_argument(
        "--busy", action="store_true", help=f"with {BUSY_PROCESSES} busy-loop processes for the whole run (as CI does)"
    )
    options, pytest_args = parser.parse_known_args(argv)
    jobs = options.jobs or (SIDE_BY_SIDE if options.backend == "embedded" else IN_SEQUENCE)
    slow = options.slow or options.cov
    # Without `--slow` the kit deselects the slow tests, so a suite may select nothing.
    selecting = bool(pytest_args) or not slow
    if slow:
        pytest_args = [*pytest_args, SLOW]
    backend = ["--backend", options.backend]
    script = "cov" if options.cov else "test"
    chose_workers = any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in pytest_args)
    workers = ONE_PROCESS if jobs > 1 else TWO_WORKERS
    suite_args = pytest_args if chose_workers else [*workers, *pytest_args]
    # `coverage run` (run_kit) does not follow xdist's worker processes: the kit's coverage run is serial.
    kit_args = pytest_args if options.cov else suite_args
    capture = jobs > 1

    repo = [sys.executable, "-m", "pytest", f"--ignore={COPY_OUT}", *backend, *suite_args]
    suites: dict[str, Callable[[], Result]] = {
        "repo": partial(run, "repo", repo, ROOT, capture=capture),
        "kit": partial(run_kit, backend + kit_args, cov=options.cov, capture=capture),
    }
    hatch_bin, env = hatch(), child_env()
    for service in services():
        command = [hatch_bin, "run", f"{service}:{script}", *backend, *suite_args]
        suites[service] = partial(run, service, command, ROOT, env, capture=capture)
    examples = [hatch_bin, "run", f"{EXAMPLES}:test", *without_workers([a for a in pytest_args if a != SLOW])]
    suites[EXAMPLES] = partial(run, EXAMPLES, examples, ROOT, env, capture=capture)
    if capture:
        print(f"=== {len(suites)} suites, {jobs} at a time; each one's output when it ends", flush=True)
    with busy_machine(BUSY_PROCESSES if options.busy else 0):
        results = run_all(suites, jobs)

    verdicts = [(r.name, verdict(r, selecting=selecting)) for r in results]
    width = max(len(r.name) for r in results)
    busy = f", {BUSY_PROCESSES} busy loops beside" if options.busy else ""
    print(f"\n=== summary ({options.backend} backend{', coverage' if options.cov else ''}{busy})")
    for result, (_, said) in zip(results, verdicts, strict=True):
        print(f"{result.name:<{width}}  {said:<20} {result.seconds:6.1f}s")
    print(tally(verdicts))
    if not slow:
        print("(tests marked slow were left out: `--slow` runs them too, as CI does)")
    return 1 if any(said.startswith("FAILED") for _, said in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
