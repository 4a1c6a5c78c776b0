"""Snapshot tests against a committed JSON file: `snapshot.assert_match(app.openapi(), "openapi.json")`.

The file lives in `snapshots/` beside the test module and is compared exactly. A change is
made on purpose: run the test with `--snapshot-update`, which rewrites the file, then review the
diff in version control. A missing file fails the same way, so nothing is recorded by accident.
"""

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

UPDATE_OPTION = "--snapshot-update"


def render(value: Any) -> str:
    """Stable JSON text: sorted keys, two-space indents, a final newline."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Snapshot:
    directory: Path
    update: bool

    def assert_match(self, value: Any, name: str) -> None:
        path = self.directory / name
        actual = render(value)
        if self.update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual)
            return
        if not path.is_file():
            pytest.fail(f"no snapshot {path}; run with {UPDATE_OPTION} to record it, then review it", pytrace=False)
        expected = path.read_text()
        if actual != expected:
            diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True), str(path), "now"))
            pytest.fail(f"{path} differs (run with {UPDATE_OPTION} if the change is intended):\n{diff}", pytrace=False)


@pytest.fixture
def snapshot(request: pytest.FixtureRequest) -> Snapshot:
    """Compares values with files in `snapshots/` beside the test module (`--snapshot-update` rewrites them)."""
    return Snapshot(request.path.parent / "snapshots", bool(request.config.getoption("snapshot_update")))
