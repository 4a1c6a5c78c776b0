"""`hatch run soak` (scripts/soak): the tolerance check, the verdict, and a very short soak's table."""

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from scripts.soak import __main__ as soak_command
from scripts.soak import resources
from scripts.soak.__main__ import LOCAL, SAVED, results_dir
from scripts.soak.__main__ import main as soak_main
from scripts.soak.load import Tally
from scripts.soak.verdict import Row, Tolerance, failures, rows, settled

ROOT = Path(__file__).resolve().parent.parent
CLEAN_LOAD: dict[str, Any] = {"server_errors": 0, "unexpected": {}, "errors": {}}


def test_the_allowance_is_the_larger_of_the_absolute_and_the_relative_margin() -> None:
    tolerance = Tolerance(absolute=20.0, relative=0.25)

    assert tolerance.allowed(40.0) == 60.0  # 25% of 40 is 10: the absolute 20 wins
    assert tolerance.allowed(200.0) == 250.0  # 25% of 200 is 50: the relative margin wins
    assert Tolerance(absolute=6).allowed(14) == 20


def test_a_metric_back_within_its_tolerance_passes_and_one_above_fails() -> None:
    baseline = {"events": {"fds": 14.0, "rss_mb": 60.0}}
    peak = {"events": {"fds": 40.0, "rss_mb": 90.0}}  # the peak may be anything: only the end counts

    back = rows(baseline, peak, {"events": {"fds": 20.0, "rss_mb": 80.0}})
    leaked = rows(baseline, peak, {"events": {"fds": 21.0, "rss_mb": 80.1}})

    assert [(r.metric, r.ok) for r in back] == [("fds", True), ("rss_mb", True)]
    assert [(r.metric, r.ok) for r in leaked] == [("fds", False), ("rss_mb", False)]
    assert [r.peak for r in back] == [40.0, 90.0]


def test_a_metric_that_cannot_be_measured_at_the_end_fails() -> None:
    table = rows({"chat": {"redis_clients": 2.0}}, {}, {"chat": {}})

    assert not table[0].ok
    assert not settled({"chat": {"redis_clients": 2.0}}, {"chat": {}})


def test_failures_name_every_reason_and_none_means_passed() -> None:
    ok_row = Row("gateway", "fds", 20, 30, 21, 26)
    bad_row = Row("gateway", "fds", 20, 30, 27, 26)
    load = {"server_errors": 3, "unexpected": {"articles POST 502": 3}, "errors": {"chat: TimeoutError: ": 1}}

    assert failures([ok_row], CLEAN_LOAD, []) == []
    assert failures([bad_row], load, [7]) == [
        "gateway fds 27 > 26 (baseline 20)",
        "3 responses with a 5xx status",
        "3 x articles POST 502",
        "1 x failed round (chat: TimeoutError: )",
        "1 articles created but not there: [7]",
    ]


@pytest.mark.slow
def test_a_very_short_soak_passes_and_writes_its_table(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "scripts.soak", "--minutes", "0.05", "--out-dir", str(tmp_path)]

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr
    assert done.stdout.rstrip().endswith("soak passed")
    report = json.loads((tmp_path / "soak-embedded.json").read_text())
    assert report["verdict"] == "passed"
    assert report["failures"] == []
    assert report["load"]["server_errors"] == 0
    assert set(report["load"]["rounds"]) == {"articles", "events", "chat", "processing"}
    assert report["articles"]["created"] > 0
    assert report["articles"]["missing"] == []
    measured = {(r["service"], r["metric"]) for r in report["resources"]}
    services = {"gateway", "articles", "chat", "events", "processing"}
    assert measured == {(s, m) for s in services for m in ("rss_mb", "fds")}  # embedded: no Redis, no PostgreSQL
    assert set(report["resources"][0]) == {"service", "metric", "baseline", "peak", "final", "allowed", "ok"}
    markdown = (tmp_path / "soak-embedded.md").read_text()
    assert "| service | metric | baseline | peak | final | allowed | verdict |" in markdown
    assert markdown.count("| ok |") == len(measured)


@pytest.mark.parametrize(
    "arguments",
    [["--base-url", "http://example.com:8000"], ["--minutes", "0"], ["--minutes", "61"]],
    ids=["not loopback", "no time", "past the bound"],
)
def test_a_soak_off_this_machine_or_unbounded_is_refused(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        soak_main(arguments)

    assert refused.value.code == 2
    assert "--base-url must be on this machine" in capsys.readouterr().err or "--minutes" in arguments


def test_the_table_goes_into_an_ignored_folder_unless_told_to_save(tmp_path: Path) -> None:
    def where(*, save: bool, out_dir: Path | None = None) -> Path:
        return results_dir(argparse.Namespace(save=save, out_dir=out_dir))

    def ignored_by_git(path: Path) -> bool:
        done = subprocess.run(["git", "check-ignore", "-q", "--no-index", str(path)], cwd=ROOT, check=False)
        assert done.returncode in (0, 1), "git check-ignore failed"
        return done.returncode == 0

    assert where(save=False) == LOCAL
    assert ignored_by_git(LOCAL / "soak-embedded.json")
    assert where(save=True) == SAVED
    assert not ignored_by_git(SAVED / "soak-embedded.json")
    assert where(save=True, out_dir=tmp_path) == tmp_path


BASELINE = {"events": {"fds": 14.0, "rss_mb": 60.0}}


@contextmanager
def system_started(arguments: list[str], env: dict[str, str]) -> Iterator[SimpleNamespace]:
    """`serving` replaced: a system that is never started, at an address nothing is asked."""
    yield SimpleNamespace(base_url="http://127.0.0.1:1", pids={})


@pytest.mark.parametrize("started", [False, True], ids=["--base-url", "system started"])
@pytest.mark.parametrize(
    ("final", "statuses", "code", "failure"),
    [
        (BASELINE, {}, 0, None),
        ({"events": {"fds": 40.0, "rss_mb": 60.0}}, {}, 1, "events fds 40 > 20 (baseline 14)"),
        (BASELINE, {("articles", 502): 3}, 1, "3 responses with a 5xx status"),
    ],
    ids=["clean", "leak", "5xx"],
)
def test_the_command_exits_non_zero_when_the_soak_found_a_leak_or_a_5xx(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    started: bool,
    final: dict[str, dict[str, float]],
    statuses: dict[tuple[str, int], int],
    code: int,
    failure: str | None,
) -> None:
    """The verdict and the exit code from recorded figures, nothing run: the load's tally (a
    5xx), and the footprint sampled before and after it (a leak that never settled)."""
    samples = iter([BASELINE, final])

    async def recorded_load(*_: object) -> tuple[Tally, dict[str, dict[str, float]]]:
        tally = Tally()
        tally.statuses.update(statuses)
        return tally, final

    monkeypatch.setattr(soak_command, "run_load", recorded_load)
    monkeypatch.setattr(resources, "sample", lambda where: next(samples, final))
    monkeypatch.setattr(soak_command, "serving", system_started)
    monkeypatch.setattr(soak_command, "QUIET", 0)
    monkeypatch.setattr(soak_command, "SETTLE_TIMEOUT", 0)
    where = [] if started else ["--base-url", "http://127.0.0.1:1"]

    exit_code = soak_main([*where, "--minutes", "0.01", "--out-dir", str(tmp_path)])

    report = json.loads((tmp_path / "soak-embedded.json").read_text())
    assert (exit_code, report["verdict"]) == (code, "passed" if code == 0 else "failed")
    assert report["failures"] == ([] if failure is None else [failure])
    assert capsys.readouterr().out.rstrip().endswith(f"soak {report['verdict']}")
