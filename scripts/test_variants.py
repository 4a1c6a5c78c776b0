"""Every suite again in a fresh environment that differs in one way: `hatch run test-lowest`,
`hatch run test-httpx2`.

- `lowest`: each project installed at the lowest versions its pyproject.toml allows for what
  it names (uv's `--resolution lowest-direct`; what those need, uv resolves as usual). It
  proves the floors: a floor below what the code needs fails here.
- `httpx2`: each project installed at its locked versions (requirements.lock) with httpx2
  beside httpx. Starlette's TestClient then runs on httpx2, and the suites run with Starlette's
  deprecation warnings as errors again (`-W`), so the narrow filter for its "install httpx2"
  notice is shown to be needed only without httpx2.

Each suite (the kit's, then each service's) gets a virtual environment of its own in a
temporary folder, installed by uv (its cache makes a reinstall take seconds), and runs under
pytest-xdist with two workers; the run goes on past a failure and ends with a table.
Arguments after the variant go to every pytest (`--backend real`, `-x`, `-m cache`).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTTPX2 = "httpx2>=2.16"
# The installing must not take the lock files Hatch points uv at (UV_CONSTRAINT), nor run on
# the calling environment's interpreter settings.
DROPPED_ENV = ("HATCH_", "VIRTUAL_ENV", "PYTHON", "UV_CONSTRAINT")
# Run before the suite in the httpx2 environments: TestClient must really be on httpx2 and
# importing it must not warn, or the run would prove nothing.
ON_HTTPX2 = (
    "import warnings; warnings.simplefilter('error'); import starlette.testclient as t; "
    "assert t.httpx.__name__ == 'httpx2', t.httpx; print('starlette.testclient runs on', t.httpx.__name__)"
)
# Turns the ignore of the pyproject.toml files back into an error (command-line filters win).
STARLETTE_WARNINGS_ARE_ERRORS = ["-W", "error::starlette.exceptions.StarletteDeprecationWarning"]


def suites() -> dict[str, Path]:
    found = {"kit": ROOT / "shared"}
    found |= {p.parent.name: p.parent for p in sorted((ROOT / "services").glob("*/pyproject.toml"))}
    return found


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_ENV)}


def install_arguments(variant: str, folder: Path) -> list[str]:
    """What `uv pip install` gets for this suite in this variant."""
    kit = str(ROOT / "shared") + ("[test]" if folder.name == "shared" else "")
    runtime = str(ROOT / "shared" / "runtime")  # what every service runs (shared/runtime/README.md)
    packages = ["-e", kit] + ([] if folder.name == "shared" else ["-e", runtime, "-e", f"{folder}[test]"])
    if variant == "lowest":
        return ["--resolution", "lowest-direct", *packages]
    return ["-c", str(folder / "requirements.lock"), *packages, HTTPX2]


def run(command: list[str], cwd: Path, env: dict[str, str]) -> int:
    print(f"$ {' '.join(command)}", flush=True)
    return subprocess.run(command, cwd=cwd, env=env, check=False).returncode


def run_suite(variant: str, name: str, folder: Path, pytest_args: list[str], workdir: Path) -> int:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("test_variants: uv is not on PATH (it is in the default Hatch environment)")
    env, venv = clean_env(), workdir / name
    python = str(venv / "bin" / "python")
    steps = [
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [
            uv,
            "pip",
            "install",
            "--quiet",
            "--compile-bytecode",
            "--python",
            python,
            *install_arguments(variant, folder),
        ],
    ]
    if variant == "httpx2":
        steps.append([python, "-c", ON_HTTPX2])
    extra = STARLETTE_WARNINGS_ARE_ERRORS if variant == "httpx2" else []
    # `--slow`: the whole suite, as CI runs it (the kit deselects the slow tests without it).
    steps.append([python, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2", "--slow", *extra, *pytest_args])
    for step in steps:
        if code := run(step, folder, env):
            return code
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("variant", choices=["lowest", "httpx2"])
    parser.add_argument("--suite", action="append", choices=list(suites()), help="only this suite (repeatable)")
    options, pytest_args = parser.parse_known_args(argv)
    results: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory(prefix=f"test-{options.variant}-") as workdir:
        for name, folder in suites().items():
            if options.suite and name not in options.suite:
                continue
            print(f"\n=== {name} ({options.variant})", flush=True)
            started = time.monotonic()
            code = run_suite(options.variant, name, folder, pytest_args, Path(workdir))
            results.append((name, code, time.monotonic() - started))
    print(f"\n=== summary ({options.variant})")
    for name, code, seconds in results:
        print(f"{name:<10}  {'passed' if code == 0 else f'FAILED (exit {code})':<20} {seconds:6.1f}s")
    failed = [name for name, code, _ in results if code]
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed" + (f": {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
