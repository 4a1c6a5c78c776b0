"""The rules that keep the monorepo's folders copyable and its Hatch set-up honest."""

import ast
import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
# The kit-free examples, one folder per article section (tests/test_examples.py has their rules).
EXAMPLES = sorted(p for p in (ROOT / "examples").iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
KIT = "fastapi_testkit"
# What every service runs (shared/runtime/README.md): a distribution beside the kit, not in it.
RUNTIME, RUNTIME_NAME = "shared/runtime", "fastapi-service-runtime"


def load_toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def imported_modules(folder: Path) -> set[str]:
    """The top-level names of every module imported anywhere below `folder`."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def test_the_services_are_the_ones_the_readme_indexes() -> None:
    indexed = set(re.findall(r"\]\(services/(\w+)/\)", (ROOT / "README.md").read_text()))

    assert {s.name for s in SERVICES} == indexed


# The one vocabulary (README, "Layout"): the same module names for the same roles.
EVERY_SERVICE_HAS = ("__main__.py", "serving.py", "app.py", "settings.py", "routes.py", "dependencies.py")


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_each_service_has_the_same_modules_for_the_same_roles(service: Path) -> None:
    package = service / service.name

    assert [name for name in EVERY_SERVICE_HAS if not (package / name).is_file()] == []
    assert '"/health"' in (package / "app.py").read_text()
    assert '"/health"' not in (package / "routes.py").read_text()


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_redis_is_set_up_in_redis_client_only(service: Path) -> None:
    package = service / service.name
    creating = {p.name for p in package.glob("*.py") if re.search(r"Redis\.from_url|FakeAsyncRedis\(", p.read_text())}

    assert creating <= {"redis_client.py"}
    assert (package / "redis_client.py").is_file() == ("redis" in imported_modules(package))


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_every_dependency_is_async(service: Path) -> None:
    tree = ast.parse((service / service.name / "dependencies.py").read_text())
    plain = [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("get_")]

    assert plain == [], "a plain def dependency runs in the thread pool: a thread hop per request"


def without_name(path: Path, service: str) -> str:
    return path.read_text().replace(service, "<service>").replace(service.upper(), "<SERVICE>")


def test_every_main_and_serving_module_is_alike() -> None:
    """One `__main__.py` and one `serving.py`, the service's name aside: the same stack everywhere,
    the runtime's (shared/runtime)."""
    mains = {s.name: without_name(s / s.name / "__main__.py", s.name) for s in SERVICES}
    serving = {s.name: without_name(s / s.name / "serving.py", s.name) for s in SERVICES}

    assert len(set(mains.values())) == 1, sorted(mains)
    assert len(set(serving.values())) == 1, sorted(serving)


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_no_test_module_imports_another_or_the_conftest(service: Path) -> None:
    offending = [
        f"{path.name}: {node.module}"
        for path in (service / "tests").glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1].startswith(("test_", "conftest"))
    ]

    assert offending == [], "shared test code goes in tests/helpers.py"


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_each_service_has_its_project_file_readme_tests_and_package(service: Path) -> None:
    for required in ("pyproject.toml", "README.md", "tests", service.name):
        assert (service / required).exists(), f"{service.name} lacks {required}"
    # `hatch run <service>:serve` runs `python -m <service>`.
    assert (service / service.name / "__main__.py").is_file()
    assert load_toml(service / "pyproject.toml")["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
        service.name
    ]


def test_the_hatch_environments_name_exactly_the_service_folders() -> None:
    envs = load_toml(ROOT / "hatch.toml")["envs"]
    service_envs = {name for name, env in envs.items() if env.get("template") == "service" and name != "service"}

    assert service_envs == {s.name for s in SERVICES}
    # The environments besides: the default one, the services' template, and the examples' own.
    assert set(envs) - service_envs == {"default", "service", "examples"}
    assert envs["examples"]["template"] == "examples"  # inherits nothing from the default environment


@pytest.mark.parametrize("readme", ["README.md", "examples/README.md"])
def test_every_example_is_indexed(readme: str) -> None:
    indexed = set(re.findall(r"\]\((?:examples/)?(\w+)/\)", (ROOT / readme).read_text()))

    assert {e.name for e in EXAMPLES} <= indexed


def test_the_default_environment_installs_every_service_the_kit_and_the_runtime() -> None:
    members = {
        m["path"]: m["features"] for m in load_toml(ROOT / "hatch.toml")["envs"]["default"]["workspace"]["members"]
    }
    runtime_extras = members.pop(RUNTIME)

    assert set(members) == {"shared"} | {f"services/{s.name}" for s in SERVICES}
    assert all(features == ["test"] for features in members.values())
    # Every extra a service asks of the runtime, so mypy and the kit's tests see all of it.
    assert set(runtime_extras) == set().union(*(runtime_dependency(s)[1] for s in SERVICES))


def runtime_dependency(service: Path) -> tuple[str, set[str]]:
    """The runtime as the service's pyproject.toml names it: its name and the extras asked for."""
    for dependency in load_toml(service / "pyproject.toml")["project"]["dependencies"]:
        name, _, extras = dependency.partition("[")
        if name == RUNTIME_NAME:
            return name, {e.strip() for e in extras.rstrip("]").split(",") if e.strip()}
    return "", set()


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_every_service_depends_on_the_runtime_and_its_environment_installs_it(service: Path) -> None:
    members = load_toml(ROOT / "hatch.toml")["envs"]["service"]["workspace"]["members"]

    assert runtime_dependency(service)[0] == RUNTIME_NAME
    assert RUNTIME in members


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_no_service_imports_another(service: Path) -> None:
    others = {s.name for s in SERVICES} - {service.name}

    assert imported_modules(service) & others == set()


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_app_code_never_imports_the_kit(service: Path) -> None:
    assert KIT not in imported_modules(service / service.name)
    assert KIT in imported_modules(service / "tests")


def test_the_kit_imports_no_service() -> None:
    assert imported_modules(ROOT / "shared" / KIT) & {s.name for s in SERVICES} == set()


def test_the_runtime_imports_neither_a_service_nor_the_kit_nor_pytest() -> None:
    """Production installs the runtime, never the kit: neither it nor pytest may be needed to run."""
    imported = imported_modules(ROOT / RUNTIME)

    assert imported & ({s.name for s in SERVICES} | {KIT, "pytest", "_pytest"}) == set()
    assert "pytest" not in (ROOT / RUNTIME / "pyproject.toml").read_text()


@pytest.mark.parametrize("project", [*SERVICES, ROOT / "shared", ROOT], ids=lambda p: p.name or "root")
def test_every_pytest_configuration_is_strict(project: Path) -> None:
    ini = load_toml(project / "pyproject.toml")["tool"]["pytest"]["ini_options"]

    assert {"--strict-markers", "--strict-config"} <= set(ini["addopts"])
    # Auto everywhere: anyio's plugin, which auto mode would starve, is shown in a project of its
    # own (services/articles/tests/test_anyio.py, with a strict-mode ini of its own).
    assert ini["asyncio_mode"] == "auto"
    assert ini["asyncio_default_fixture_loop_scope"] == "function"
    assert ini["asyncio_default_test_loop_scope"] == "function"
    assert ini["filterwarnings"][0] == "error"
    # Anything else let through is narrow (a message or a category), never a blanket ignore.
    assert all(entry.count(":") >= 2 for entry in ini["filterwarnings"][1:])


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_hatch_inside_a_service_folder_hands_over_to_the_root(service: Path) -> None:
    scripts = load_toml(service / "pyproject.toml")["tool"]["hatch"]["envs"]["default"]["scripts"]

    for command in ("test", "test-real", "cov", "serve"):
        assert scripts[command] == ["in-repo", f"cd ../.. && hatch run {service.name}:{command} {{args}}"]


SHARED_RUN = 6  # lines


def prose_lines(source: str) -> set[int]:
    """The line numbers of every docstring (module, class, function), which is prose, and of every
    bare field declaration (`title: str`), which is the shape of a service's API, its own."""
    found: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign) and node.value is None:
            found.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.update(range(body[0].lineno, (body[0].end_lineno or body[0].lineno) + 1))
    return found


@cache  # each file is compared with every other: parsed once, not once per pair
def code_lines(path: Path) -> list[tuple[int, str]]:
    """The file's lines of code, stripped, with their numbers: blank, comment, import, docstring
    and field declaration lines left out."""
    source = path.read_text()
    prose = prose_lines(source)
    lines = [(number, line.strip()) for number, line in enumerate(source.splitlines(), start=1) if number not in prose]
    return [(n, text) for n, text in lines if text and not text.startswith(("#", "import ", "from "))]


def shared_runs(first: Path, second: Path) -> list[str]:
    """Where `first` and `second` hold the same SHARED_RUN code lines in a row."""
    theirs = code_lines(second)
    windows = {
        tuple(t for _, t in theirs[i : i + SHARED_RUN]): theirs[i][0] for i in range(len(theirs) - SHARED_RUN + 1)
    }
    ours = code_lines(first)
    return [
        f"{first.relative_to(ROOT)}:{ours[i][0]} ~ {second.relative_to(ROOT)}:{windows[window]}"
        for i in range(len(ours) - SHARED_RUN + 1)
        if (window := tuple(t for _, t in ours[i : i + SHARED_RUN])) in windows
    ]


def test_no_two_services_share_a_run_of_app_code() -> None:
    """Code that several services run lives once, in the runtime (shared/runtime), not copied:
    no two app packages share six code lines in a row, but for their `__main__.py`."""
    modules = [path for s in SERVICES for path in sorted((s / s.name).rglob("*.py")) if path.name != "__main__.py"]
    service = {path: path.relative_to(ROOT).parts[1] for path in modules}
    shared = [
        run
        for i, first in enumerate(modules)
        for second in modules[i + 1 :]
        if service[first] != service[second]
        for run in shared_runs(first, second)
    ]

    assert shared == [], "\n".join(shared)
