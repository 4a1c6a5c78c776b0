"""tests: the wall time of each service's suite, `hatch run <service>:test`, with its environment
built (--long only). No baseline: the figure is for a reader choosing how to run them."""

import os
import shutil
import subprocess
import time

from bench.cases.common import Context, NotRunError
from bench.results import Measurement, Row
from bench.servers import ROOT


def _services() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "services").glob("*/pyproject.toml"))


def walls(ctx: Context) -> Row:
    hatch = shutil.which("hatch")
    if hatch is None:
        raise NotRunError("hatch is not on PATH")
    # As tests/run_suites.py does: a nested `hatch run` must not inherit the default environment.
    env = {k: v for k, v in os.environ.items() if k not in ("HATCH_ENV_ACTIVE", "VIRTUAL_ENV")}
    m = Measurement()
    verdicts = []
    for service in _services():
        print(f"   hatch run {service}:test -q", flush=True)
        started = time.monotonic()
        done = subprocess.run(
            [hatch, "run", f"{service}:test", "-q"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
        )
        seconds = time.monotonic() - started
        m.extra[service] = round(seconds, 1)
        verdicts.append(
            f"{service} {seconds:.0f} s ({'passed' if done.returncode == 0 else f'exit {done.returncode}'})"
        )
    m.rate = sum(v for v in m.extra.values())
    row = Row("tests", "wall time of each suite, hatch run <service>:test", "s", "wall", case_m=m)
    row.note = "; ".join(verdicts) + f"; sum {m.rate:.0f} s (the machine is shared: only comparable within a run)"
    return row
