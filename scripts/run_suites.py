"""Run every suite in its own environment, go on past failures, and end with a summary.

`hatch run test` calls this (see hatch.toml for why it is a script and not a matrix run).
The repo-level tests and the kit's tests run here, in the default environment; each service
runs as `hatch run <service>:test`, in the environment that holds only its dependencies.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NO_TESTS_COLLECTED = 5  # pytest's exit code when a selection matched nothing
# Two pytest-xdist workers per suite, one per core of the machines this is tested on; the kit
# gives each worker databases of its own. Suites still run one after another, so their Redis
# and PostgreSQL ranges never meet.
PARALLEL = ["-n", "2"]
# Installs and runs every suite again in fresh folders: its own command (`hatch run test-copy`).
COPY_OUT = "tests/test_copy_out.py"


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


def run(name: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Result:
    print(f"\n=== {name}: {' '.join(command)}", flush=True)
    start = time.monotonic()
    code = subprocess.run(command, cwd=cwd, env=env, check=False).returncode
    return Result(name, code, time.monotonic() - start)


def run_kit(pytest_args: list[str], *, cov: bool) -> Result:
    """The kit's own tests. Coverage is measured with `coverage run`, not pytest-cov: the kit is
    a pytest plugin, imported before pytest-cov starts, so pytest-cov would miss its top level."""
    python, kit = sys.executable, ROOT / "shared"
    if not cov:
        return run("kit", [python, "-m", "pytest", *pytest_args], kit)
    start = time.monotonic()
    result = run("kit", [python, "-m", "coverage", "run", "-m", "pytest", *pytest_args], kit)
    if result.code == 0:
        run("kit", [python, "-m", "coverage", "html", "-d", str(ROOT / "htmlcov" / "kit")], kit)
        result = run("kit", [python, "-m", "coverage", "report"], kit)
    return Result("kit", result.code, time.monotonic() - start)  # the time of all three steps


def verdict(result: Result, *, selecting: bool) -> str:
    if result.code == 0:
        return "passed"
    if result.code == NO_TESTS_COLLECTED and selecting:
        return "nothing selected"
    return f"FAILED (exit {result.code})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["embedded", "real"], default="embedded")
    parser.add_argument("--cov", action="store_true", help="measure branch coverage of each service and the kit")
    options, pytest_args = parser.parse_known_args(argv)
    backend = ["--backend", options.backend]
    script = "cov" if options.cov else "test"
    chose_workers = any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in pytest_args)
    suite_args = pytest_args if chose_workers else [*PARALLEL, *pytest_args]
    # `coverage run` (run_kit) does not follow xdist's worker processes: the kit's coverage run is serial.
    kit_args = pytest_args if options.cov else suite_args

    repo = [sys.executable, "-m", "pytest", f"--ignore={COPY_OUT}", *backend, *suite_args]
    results = [run("repo", repo, ROOT)]
    results.append(run_kit(backend + kit_args, cov=options.cov))
    hatch_bin, env = hatch(), child_env()
    for service in services():
        results.append(run(service, [hatch_bin, "run", f"{service}:{script}", *backend, *suite_args], ROOT, env))

    selecting = bool(pytest_args)
    width = max(len(r.name) for r in results)
    print(f"\n=== summary ({options.backend} backend{', coverage' if options.cov else ''})")
    for result in results:
        print(f"{result.name:<{width}}  {verdict(result, selecting=selecting):<20} {result.seconds:6.1f}s")
    failed = [r.name for r in results if verdict(r, selecting=selecting).startswith("FAILED")]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
