"""The rules that keep each example in examples/ small, kit-free and runnable alone.

Each folder is one article section: `<topic>_app.py`, `test_<topic>.py`, `requirements.txt`
and `pytest.ini` (a `conftest.py` where the section is about fixtures). `hatch run examples:test`
runs them all in one pytest process from examples/, which reads examples/pytest.ini only: so
every folder's own settings must be the combined file's, and no two folders may share a module
name. Sizes count lines of code: not blank, not the module docstring.
"""

import ast
import configparser
import re
from pathlib import Path

import pytest

from tests.test_layout import EXAMPLES, KIT, ROOT, SERVICES, imported_modules, load_toml

APP_LINES, TEST_LINES = 45, 65
STANDARD = {
    "asyncio_mode": "auto",
    "asyncio_default_fixture_loop_scope": "function",
    "asyncio_default_test_loop_scope": "function",
    "filterwarnings": "error",
}


def code_lines(path: Path) -> int:
    source = path.read_text()
    tree = ast.parse(source)
    after = (tree.body[0].end_lineno or 0) if ast.get_docstring(tree) is not None else 0
    return sum(1 for number, line in enumerate(source.splitlines(), 1) if number > after and line.strip())


def pytest_settings(path: Path) -> dict[str, str]:
    parser = configparser.ConfigParser()
    parser.read(path)
    return {key: value.strip() for key, value in parser["pytest"].items()}


def requirements(folder: Path) -> list[str]:
    lines = (folder / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_there_are_examples() -> None:
    assert len(EXAMPLES) >= 5


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_has_its_app_test_requirements_and_pytest_ini(example: Path) -> None:
    for required in (f"{example.name}_app.py", f"test_{example.name}.py", "requirements.txt", "pytest.ini"):
        assert (example / required).is_file(), f"{example.name} lacks {required}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_is_small(example: Path) -> None:
    assert code_lines(example / f"{example.name}_app.py") <= APP_LINES
    assert code_lines(example / f"test_{example.name}.py") <= TEST_LINES


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_no_example_imports_the_kit_or_a_service(example: Path) -> None:
    assert imported_modules(example) & {KIT, "services", "shared", *(s.name for s in SERVICES)} == set()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_app_docstring_names_a_service_test_that_exists(example: Path) -> None:
    docstring = ast.get_docstring(ast.parse((example / f"{example.name}_app.py").read_text())) or ""
    named = re.findall(r"services/[\w/]+/tests/\w+\.py", " ".join(docstring.split()))

    assert named, f"{example.name}_app.py's docstring names no service test (services/<name>/tests/<file>.py)"
    assert [path for path in named if not (ROOT / path).is_file()] == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_pytest_ini_says_what_the_combined_run_reads(example: Path) -> None:
    """The combined run reads examples/pytest.ini alone: a setting only in a folder's file would
    hold when the folder runs alone and be lost in the combined run (or the other way round)."""
    combined = pytest_settings(ROOT / "examples" / "pytest.ini")

    assert pytest_settings(example / "pytest.ini") == combined
    assert combined.items() >= STANDARD.items()


def test_no_two_examples_share_a_module_name() -> None:
    """All run in one process: two `helpers.py` would be one module (conftest.py is per folder)."""
    names = [p.name for example in EXAMPLES for p in example.glob("*.py") if p.name != "conftest.py"]

    assert sorted(names) == sorted(set(names))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_environment_installs_each_requirement_as_given(example: Path) -> None:
    listed = load_toml(ROOT / "hatch.toml")["envs"]["examples"]["dependencies"]

    assert [line for line in requirements(example) if line not in listed] == []
