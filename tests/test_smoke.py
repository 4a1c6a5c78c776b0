"""`hatch run smoke` (scripts/smoke): passes against `hatch run serve`, fails naming a service that is down."""

import asyncio
import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.smoke.runner import Outcome, Report, StepFailedError, Steps
from scripts.smoke_against_serve import System, serving

ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$", re.MULTILINE)


def smoke(base_url: str, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scripts.smoke", "--base-url", base_url, *options]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def system() -> Iterator[System]:
    with serving([]) as running:
        yield running


@pytest.mark.slow
def test_smoke_passes_against_the_served_system(system: System) -> None:
    done = smoke(system.base_url)

    assert done.returncode == 0, done.stdout + done.stderr
    summary = SUMMARY.search(done.stdout)
    assert summary is not None, done.stdout
    assert int(summary[1]) >= 15, done.stdout
    assert summary[2] == "0", done.stdout
    assert "FAIL" not in done.stdout
    for service in ("gateway", "articles", "chat", "events", "processing"):
        assert f"PASS {service}: health" in done.stdout


@pytest.mark.slow
def test_smoke_fails_naming_the_service_that_does_not_answer(system: System) -> None:
    """events stopped (SIGSTOP: it holds its port and answers nothing), so only its checks fail."""
    events = system.pids["events"]
    os.kill(events, signal.SIGSTOP)
    try:
        # 3 s: longer than the gateway gives an upstream health check (2 s), so its answer names events.
        done = smoke(system.base_url, "--timeout", "3")
    finally:
        os.kill(events, signal.SIGCONT)

    assert done.returncode == 1, done.stdout + done.stderr
    failed = [line.split(":")[0] for line in done.stdout.splitlines() if line.startswith("FAIL ")]
    assert set(failed) == {"FAIL events", "FAIL gateway"}, done.stdout  # the gateway's health names it
    assert "not ok: events unreachable" in done.stdout
    assert re.search(r"^smoke FAILED: events \(health, publish\); gateway \(health", done.stdout, re.MULTILINE)


def test_the_summary_is_alone_on_a_line_and_the_exit_names_what_failed() -> None:
    out = io.StringIO()
    report = Report(out)
    report.record(Outcome("articles", "create", True, 0.1))
    report.record(Outcome("events", "publish", False, 2.0, "no answer"))

    code = report.summary()

    assert code == 1
    assert out.getvalue().splitlines()[-2:] == ["1 passed, 1 failed", "smoke FAILED: events (publish)"]
    assert "FAIL events: publish (2.00s): no answer" in out.getvalue()


async def test_a_step_past_its_deadline_fails_by_name_and_stops_its_service() -> None:
    report = Report(io.StringIO())
    steps = Steps(report, "chat", timeout=0.05)

    with pytest.raises(StepFailedError):
        async with steps("a room"):
            await asyncio.sleep(10)

    assert [(o.service, o.check, o.passed) for o in report.outcomes] == [("chat", "a room", False)]
    assert report.outcomes[0].detail == "no answer within the 0.05s deadline"
