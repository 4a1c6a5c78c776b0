"""The bench's quick mode on one case, so that it cannot rot (CI does not run the bench itself).

The processing case needs no wrk: its client is Python, so this passes on a fresh machine. Short
rounds (`--duration 1`) keep it within seconds; the figures are not the point, the plumbing is.
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_mode_runs_one_case_and_reports_it_as_table_and_json(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--case",
            "processing",
            "--duration",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| case | measures | rate | p50 ms | p99 ms | peak RSS MB | baseline rate")
    assert [line.split(" | ")[0] for line in table[1:]] == ["| processing"]
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["meta"]["mode"] == "quick"
    [row] = data["rows"]
    assert row["case"] == "processing"
    assert row["status"] == "ok", row
    assert row["rounds"] == 2  # alternating: two rounds of the case, two of the baseline
    for side in ("case_m", "base_m"):
        assert row[side]["rate"] > 0
        assert row[side]["p50_ms"] <= row[side]["p99_ms"]
        assert row[side]["rss_mb"] > 10  # a Python server's peak RSS, read from the process
    assert row["ratio"] > 0
    assert "| processing |" in (tmp_path / "latest.md").read_text()


def test_an_unknown_case_is_refused_with_the_list_to_choose_from() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--case", "nope"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.returncode == 2
    assert "unknown case(s): nope; see --list" in done.stderr
