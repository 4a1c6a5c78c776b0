"""Docs that stay true: the READMEs' tables name every module and test file, and every relative link resolves
(in the READMEs and in docs/)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVICES = sorted(p.parent for p in (ROOT / "services").glob("*/pyproject.toml"))
READMES = [
    ROOT / "README.md",
    *(s / "README.md" for s in SERVICES),
    ROOT / "shared/README.md",
    ROOT / "bench/README.md",
    ROOT / "scripts/README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def prose(readme: Path) -> list[str]:
    """The README's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in readme.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def table_links(readme: Path) -> set[str]:
    """The relative targets linked from the README's table rows."""
    return {target for line in prose(readme) if line.startswith("|") for target in LINK.findall(line)}


def missing_from_tables(service: Path) -> list[str]:
    """The service's modules and test files that no row of its README's tables links to."""
    package = service / service.name
    files = [p for p in sorted(package.glob("*.py")) if p.name != "__init__.py"]
    files += sorted((service / "tests").glob("test_*.py"))
    linked = table_links(service / "README.md")
    return [str(p.relative_to(service)) for p in files if str(p.relative_to(service)) not in linked]


def broken_links(readme: Path) -> list[str]:
    """The README's relative links (anchors aside) whose file or folder does not exist."""
    targets = (target.split("#")[0] for line in prose(readme) for target in LINK.findall(line))
    relative = [t for t in targets if t and not re.match(r"^[a-z]+:", t)]
    return [t for t in relative if not (readme.parent / t).exists()]


def layout_section(readme: Path) -> str:
    text = readme.read_text()
    start = text.index("\n## Layout\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


@pytest.mark.parametrize("service", SERVICES, ids=lambda p: p.name)
def test_a_services_readme_tables_link_every_module_and_test_file(service: Path) -> None:
    assert missing_from_tables(service) == []


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_a_readme_exists(readme: Path) -> None:
    assert broken_links(readme) == []


def test_the_root_layout_names_every_module_role() -> None:
    named = set(re.findall(r"`([a-z_]+\.py)`", layout_section(ROOT / "README.md")))
    modules = {p.name for s in SERVICES for p in (s / s.name).glob("*.py") if p.name != "__init__.py"}

    assert sorted(modules - named) == []


def test_the_checks_see_what_is_missing(tmp_path: Path) -> None:
    """A module, a test file and a link the README does not cover are each found."""
    service = tmp_path / "demo"
    (service / "demo").mkdir(parents=True)
    (service / "tests").mkdir()
    for path in ("demo/__init__.py", "demo/app.py", "demo/extra.py", "tests/test_app.py", "tests/test_extra.py"):
        (service / path).touch()
    (service / "README.md").write_text(
        "| module | role |\n|---|---|\n| [app.py](demo/app.py) | the app; see [gone](docs/gone.md#top) |\n"
        "| tests | |\n|---|---|\n| [test_app.py](tests/test_app.py) | |\n\n"
        "[extra.py](demo/extra.py), outside a table, and [a site](https://example.com)\n"
        "```\n[in code](nowhere.md)\n```\n"
    )

    assert missing_from_tables(service) == ["demo/extra.py", "tests/test_extra.py"]
    assert broken_links(service / "README.md") == ["docs/gone.md"]


def test_a_row_with_a_stray_or_a_missing_cell_is_found(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("| a | b |\n|---|---|\n| 1 | 2 |\n| 1 |\n| 1 | 2 | 3 |\n| `x\\|y` | 2 |\n")

    assert misshapen_rows(readme) == ["| 1 |", "| 1 | 2 | 3 |"]


def cells(row: str) -> int:
    """The cells of a table row (`\\|` is a pipe inside a cell)."""
    return len(re.split(r"(?<!\\)\|", row.strip().strip("|")))


def misshapen_rows(readme: Path) -> list[str]:
    """Rows with more or fewer cells than their table's header."""
    found, header = [], None
    for line in [*prose(readme), ""]:
        if not line.startswith("|"):
            header = None
        elif header is None:
            header = cells(line)
        elif cells(line) != header:
            found.append(line)
    return found


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_row_has_its_headers_cells(readme: Path) -> None:
    assert misshapen_rows(readme) == []
