"""HTTP load: wrk when the system has it, else the small Python generator; never a capped figure.

A load generator that uses a whole core is measuring itself, not the server: such a round is
marked `capped` and its ratio is not reported. One wrk thread (`-t1`): the machine has two
cores, one for the server under test and one for the load.
"""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass
from typing import Literal

from bench.results import Measurement
from bench.servers import ROOT

CPU_CAP = 0.90  # of one core: past this the generator, not the server, sets the pace
CONNECTIONS = 50
# Long enough that a slow server's requests are counted late rather than dropped as timeouts
# (wrk leaves timed-out requests out of its latencies, which would flatter the server).
TIMEOUT_S = 30

Kind = Literal["wrk", "python"]


@dataclass(frozen=True)
class LoadGenerator:
    kind: Kind
    description: str

    def measure(self, url: str, duration: float, connections: int = CONNECTIONS) -> Measurement:
        before = _children_cpu()
        run = _run_wrk if self.kind == "wrk" else _run_python
        m = run(url, duration, connections)
        cpu = (_children_cpu() - before) / duration
        m.extra["loadgen_cpu"] = round(cpu, 3)
        if cpu >= CPU_CAP:
            m.capped = f"{self.kind} used {cpu:.0%} of a core"
        return m


def choose(requested: str) -> LoadGenerator | None:
    """The generator to use; None when wrk was asked for and is missing."""
    wrk = shutil.which("wrk")
    if requested in ("auto", "wrk") and wrk is not None:
        version = subprocess.run([wrk, "--version"], capture_output=True, text=True, check=False).stdout
        first = (version.strip().splitlines() or ["wrk"])[0].split(" Copyright")[0]
        return LoadGenerator("wrk", f"{first} (-t1 -c{CONNECTIONS})")
    if requested == "wrk":
        return None
    return LoadGenerator("python", f"bench.pyload, Python asyncio, {CONNECTIONS} connections (wrk not used)")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


def parse_wrk(output: str) -> Measurement:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.MULTILINE)
    if rate is None or p50 is None or p99 is None:
        return Measurement(error=f"wrk output not understood: {output[-200:]!r}")
    m = Measurement(rate=float(rate.group(1)), p50_ms=_ms(p50.group(1)), p99_ms=_ms(p99.group(1)))
    if m.rate == 0:
        m.error = "no request completed"
    if bad := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output):
        m.error = f"{bad.group(1)} error responses"
    if errors := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output):
        counts = [int(n) for n in errors.groups()]
        m.extra["socket_errors"] = sum(counts)
        if counts[0] or counts[3]:  # reads/writes fail at the end of a run when wrk closes; these do not
            m.error = f"wrk {errors.group(0)} (timeout = no answer within {TIMEOUT_S} s)"
    return m


def _run_wrk(url: str, duration: float, connections: int) -> Measurement:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--latency", "--timeout", f"{TIMEOUT_S}s", url]
    # subprocess.run kills wrk if the bench is interrupted meanwhile.
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=duration + TIMEOUT_S + 30)
    if done.returncode != 0:
        return Measurement(error=f"wrk failed: {done.stderr.strip()[-200:]}")
    return parse_wrk(done.stdout)


def _run_python(url: str, duration: float, connections: int) -> Measurement:
    command = [sys.executable, "-m", "bench.pyload", url, f"--connections={connections}", f"--duration={duration}"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=duration + 60, env=env)
    if done.returncode != 0:
        return Measurement(error=f"bench.pyload failed: {done.stderr.strip()[-200:]}")
    data = json.loads(done.stdout)
    m = Measurement(rate=data["requests"] / data["seconds"], p50_ms=data["p50_ms"], p99_ms=data["p99_ms"])
    if data["non2xx"] or data["errors"]:
        m.error = f"{data['non2xx']} error responses, {data['errors']} connection errors"
    return m
