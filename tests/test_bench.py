"""The bench's quick mode on one case, so that it cannot rot (CI does not run the bench itself).

The processing case needs no wrk: its client is Python, so this passes on a fresh machine. Short
rounds (`--duration 1`) keep it within seconds; the figures are not the point, the plumbing is:
one case reporting several rows (each mode), alternating rounds, and a row not run with its reason.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
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
    names = ["processing", "processing-queue", "processing-redis", "processing-workers"]
    assert [line.split(" | ")[0] for line in table[1:]] == [f"| {name}" for name in names]
    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["meta"]["mode"] == "quick"
    rows = {row["case"]: row for row in data["rows"]}
    assert list(rows) == names
    # Background vs the minimal app, and the in-memory queue vs background: measured, side by side.
    for row in (rows["processing"], rows["processing-queue"]):
        assert row["status"] == "ok", row
        assert row["rounds"] == 2  # alternating: two rounds of each side
        for side in ("case_m", "base_m"):
            assert row[side]["rate"] > 0
            assert row[side]["p50_ms"] <= row[side]["p99_ms"]
            assert row[side]["rss_mb"] > 10  # a Python server's peak RSS, read from the process
        assert row["ratio"] > 0
    # The queue's baseline is background mode: the same figures as the first row's case.
    assert rows["processing-queue"]["base_m"] == rows["processing"]["case_m"]
    # Worker processes need real Redis and PostgreSQL: not run, and the table says why.
    for name in ("processing-redis", "processing-workers"):
        assert rows[name]["status"] == "not run"
        assert rows[name]["note"].startswith("--real only")
    assert "| processing-queue |" in (tmp_path / "latest.md").read_text()


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


WRK_OUTPUT = """Running 3s test @ http://127.0.0.1:1/item
  1 threads and 50 connections
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.00ms
     99%    1.50s
  5000 requests in 3.00s, 1.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
Requests/sec:   1666.67
"""


def test_wrk_output_is_read_in_milliseconds_and_its_timeouts_invalidate_the_figure() -> None:
    from bench.loadgen import parse_wrk

    m = parse_wrk(WRK_OUTPUT)

    assert (m.rate, m.p50_ms, m.p99_ms) == (1666.67, 0.812, 1500.0)
    assert m.error is not None
    assert "timeout 3" in m.error
    assert m.capped is None


def test_a_round_in_which_the_load_generator_used_a_whole_core_is_marked_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import loadgen
    from bench.results import Measurement, Row

    cpu = iter([10.0, 12.85])  # 2.85 s of CPU in a 3 s round: 95 % of a core
    monkeypatch.setattr(loadgen, "_children_cpu", lambda: next(cpu))
    monkeypatch.setattr(loadgen, "_run_wrk", lambda url, duration, connections: Measurement(rate=50_000.0))

    m = loadgen.LoadGenerator("wrk", "wrk").measure("http://127.0.0.1:1/", duration=3.0)

    assert m.capped == "wrk used 95% of a core"
    row = Row("x", "x", "req/s", "rate", case_m=m, base_m=Measurement(rate=1.0), ratio=50_000.0)
    assert row.status == "capped"
    assert row.problem == "case: wrk used 95% of a core"


def ignored_by_git(path: Path) -> bool:
    done = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(path)], cwd=ROOT, check=False)
    assert done.returncode in (0, 1), "git check-ignore failed"
    return done.returncode == 0


def test_a_run_writes_into_an_ignored_folder_unless_told_to_save(tmp_path: Path) -> None:
    from bench.cli import LOCAL_RESULTS, RESULTS, _parser, results_dir

    def where(*args: str) -> Path:
        return results_dir(_parser().parse_args(list(args)))

    assert where("--case", "processing") == LOCAL_RESULTS
    assert ignored_by_git(where("--case", "processing") / "latest.json")
    assert where("--save") == RESULTS
    assert not ignored_by_git(where("--save") / "latest.json")  # the committed figures
    assert where("--save", "--out", str(tmp_path)) == tmp_path
