"""Each service, copied out with the kit into an empty folder, installs and passes its tests there;
so does each example, copied out alone.

This is the promise of every service README's "Copy it out": the folder plus `shared/` (the kit,
and the runtime in `shared/runtime/`), a fresh virtual environment,
`pip install -e ./shared/runtime -e ./shared -e './<service>[test]'`, `pytest`; and of
examples/README.md: the folder, `pip install -r requirements.txt`, `pytest`. uv does the
installing (the same resolver Hatch uses here, and fast with its cache), within the lock of
what was tested; nothing of the monorepo is on the path.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_testkit import Backend
from tests.test_layout import EXAMPLES, ROOT, SERVICES

pytestmark = pytest.mark.slow

# What a developer's checkout may hold that a copy would not: caches, databases, coverage.
LEFT_BEHIND = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.db", "*.db-journal", ".coverage*", "htmlcov")


# The two local packages, neither on PyPI: the runtime every service runs and the kit its tests use.
LOCAL = ["-e", "./shared/runtime", "-e", "./shared"]


def run(command: list[str | Path], cwd: Path, timeout: float, extra_env: dict[str, str] | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HATCH_", "VIRTUAL_ENV", "PYTHON"))}
    env |= extra_env or {}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_a_copied_service_installs_and_passes_its_tests(
    service: Path, tmp_path: Path, backend: Backend, redis_url: str | None
) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is not installed in this environment (hatch.toml: the default environment)"
    project = tmp_path / "project"
    shutil.copytree(service, project / service.name, ignore=LEFT_BEHIND)
    shutil.copytree(ROOT / "shared", project / "shared", ignore=LEFT_BEHIND)  # the runtime with it
    assert (project / "shared" / "runtime" / "pyproject.toml").is_file()
    python = tmp_path / "venv" / "bin" / "python"

    run([uv, "venv", "--quiet", "--python", sys.executable, tmp_path / "venv"], project, timeout=60)
    run(
        [uv, "pip", "install", "--quiet", "--python", python, *LOCAL, "-e", f"./{service.name}[test]"],
        project,
        timeout=300,
    )
    # On the backend this run uses: with --backend real, the copy is tested against the servers too.
    pytest_command: list[str | Path] = [
        python,
        "-m",
        "pytest",
        "-q",
        "-x",
        "-p",
        "no:cacheprovider",
        "--backend",
        backend.value,
        "--slow",  # the whole suite: the slow tests too
    ]
    # The copied suite runs without xdist, as worker "master" (Redis database 0). Under
    # `-n auto` several copies run at once, so each gets this worker's own Redis database.
    redis = {"TESTKIT_REDIS_URL": redis_url} if redis_url else {}
    run(pytest_command, project / service.name, timeout=300, extra_env=redis)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_a_copied_example_installs_from_its_requirements_and_passes(example: Path, tmp_path: Path) -> None:
    uv = shutil.which("uv")
    assert uv is not None, "uv is not installed in this environment (hatch.toml: the default environment)"
    project = tmp_path / example.name
    shutil.copytree(example, project, ignore=LEFT_BEHIND)
    python = tmp_path / "venv" / "bin" / "python"
    # The examples' lock, not the default environment's (Hatch's UV_CONSTRAINT), as `examples:test` installs.
    lock = {"UV_CONSTRAINT": str(ROOT / "examples" / "requirements.lock")}

    run([uv, "venv", "--quiet", "--python", sys.executable, tmp_path / "venv"], project, timeout=60)
    run([uv, "pip", "install", "--quiet", "--python", python, "-r", "requirements.txt"], project, 300, lock)
    # Its own pytest.ini, found in the folder: the run is the one a reader does there.
    run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, timeout=120)
