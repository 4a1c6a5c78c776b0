"""Write (or check) the lock file of every environment: `hatch run lock [--check]`.

One `requirements.lock` per project folder (the kit, each service, the examples): every third-party
package its environment installs, pinned, resolved by `uv pip compile` for every platform
(`--universal`) from Python 3.11 up. The first-party packages (the kit, the runtime, the service) are
left out, so the same file works in the monorepo and in a service copied out with the kit and the
runtime: it is a constraints file,
`uv pip install -c requirements.lock -e ./shared -e ./shared/runtime -e './articles[test]'`.
Hatch's own locking (`lock-envs`, 1.17+) cannot resolve these environments: the services'
`test` extra names `fastapi-testkit`, which is a workspace member, not on PyPI, and its uv
locker asks the index for it (README, "Locked and floored").

An existing lock is the resolver's preference, so `lock` changes only what the pyproject.toml
files forced; `lock --upgrade` moves everything to the newest allowed; `lock --check` fails if
a lock no longer matches its pyproject.toml (a dependency added or a floor raised past a pin).
"""

import argparse
import filecmp
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = "requirements.lock"
PYTHON_FLOOR = "3.11"  # every pyproject.toml's requires-python
KIT_PACKAGE = "fastapi-testkit"
EXAMPLES = ROOT / "examples"
RUNTIME_PACKAGE = "fastapi-service-runtime"


def projects() -> dict[str, Path]:
    """Each locked environment by the folder its lock is in: the default one (the root), the
    kit's own, the services', then the examples' (one environment for every example folder)."""
    found = {"default": ROOT, "kit": ROOT / "shared"}
    found |= {p.parent.name: p.parent for p in sorted((ROOT / "services").glob("*/pyproject.toml"))}
    return found | {"examples": EXAMPLES}


def project_names(folder: Path) -> list[str]:
    """The first-party packages an environment installs, which its lock leaves out."""
    if folder == EXAMPLES:
        return []  # the examples install nothing of the monorepo
    if folder == ROOT:
        services = (project_names(p)[-1] for p in projects().values() if p.parent.name == "services")
        return [KIT_PACKAGE, RUNTIME_PACKAGE, *services]
    for line in (folder / "pyproject.toml").read_text().splitlines():
        if line.startswith("name = "):
            return [KIT_PACKAGE, RUNTIME_PACKAGE, line.split('"')[1]]
    raise SystemExit(f"lock: no project name in {folder / 'pyproject.toml'}")


def requirements(folder: Path) -> list[str]:
    """What the folder's Hatch environment installs: the kit, the runtime, and the service with
    its tests; for the kit's own, the kit; for the default environment, its tools and everything;
    for the examples, their Hatch environment's list (every folder's requirements.txt)."""
    if folder == EXAMPLES:
        return list(tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]["examples"]["dependencies"])
    if folder == ROOT:
        default = tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]["default"]
        members = [f"-e {ROOT / m['path']}[{','.join(m['features'])}]" for m in default["workspace"]["members"]]
        return [*default["dependencies"], *members]
    kit = f"-e {ROOT / 'shared'}" + ("[test]" if folder.name == "shared" else "")
    return [kit] if folder.name == "shared" else [kit, f"-e {ROOT / 'shared' / 'runtime'}", f"-e {folder}[test]"]


def compile_lock(folder: Path, output: Path, *extra: str) -> int:
    uv = shutil.which("uv")
    if uv is None:
        raise SystemExit("lock: uv is not on PATH (it is in the default Hatch environment: `hatch run lock`)")
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "requirements.in"
        source.write_text("\n".join(requirements(folder)) + "\n")
        command = [
            uv, "pip", "compile", "--quiet", "--universal", "--python-version", PYTHON_FLOOR,
            *(f"--no-emit-package={name}" for name in project_names(folder)),
            "--custom-compile-command", "hatch run lock", "--no-annotate",
            str(source), "-o", str(output), *extra,
        ]  # fmt: skip
        return subprocess.run(command, cwd=ROOT, check=False).returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if a lock is out of date; write nothing")
    parser.add_argument("--upgrade", action="store_true", help="move every pin to the newest allowed version")
    options = parser.parse_args(argv)
    stale: list[str] = []
    for name, folder in projects().items():
        lock = folder / LOCK
        if not options.check:
            code = compile_lock(folder, lock, *(["--upgrade"] if options.upgrade else []))
            print(f"{name}: {'wrote ' + str(lock.relative_to(ROOT)) if code == 0 else f'FAILED (exit {code})'}")
            stale += [name] if code else []
            continue
        with tempfile.TemporaryDirectory() as tmp:
            fresh = Path(tmp) / LOCK
            if lock.exists():
                shutil.copyfile(lock, fresh)  # the committed pins as preferences
            code = compile_lock(folder, fresh)
            same = code == 0 and lock.exists() and filecmp.cmp(lock, fresh, shallow=False)
        print(f"{name}: {'up to date' if same else 'OUT OF DATE: run `hatch run lock` and commit'}")
        stale += [] if same else [name]
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
