"""`hatch run bench`: run the cases, print one table, write latest.{json,md}.

Into bench/results/local/ (ignored by git), so a run leaves the committed figures alone;
`--save` writes them to bench/results/, the figures the README quotes.
"""

import argparse
import datetime
import os
import platform
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType

from bench import loadgen, servers
from bench.cases.common import Context, NotRunError
from bench.catalog import CASES, Case
from bench.results import Row, table_lines, write

RESULTS = Path(__file__).resolve().parent / "results"
LOCAL_RESULTS = RESULTS / "local"  # in .gitignore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hatch run bench", description=__doc__)
    parser.add_argument("--long", action="store_true", help="longer rounds, more of them, and the suites' wall times")
    parser.add_argument("--real", action="store_true", help="real PostgreSQL and Redis where a service supports them")
    parser.add_argument("--case", action="append", default=[], metavar="NAME", help="run only this case (repeatable)")
    parser.add_argument(
        "--loadgen",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="HTTP load generator: wrk if installed (auto), wrk only, or the Python fallback",
    )
    parser.add_argument("--duration", type=float, metavar="SECONDS", help="seconds per round of the timed cases")
    parser.add_argument("--save", action="store_true", help="write the results to bench/results/ (committed)")
    parser.add_argument("--out", type=Path, help="where latest.json and latest.md go (default bench/results/local/)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    return parser


def _on_signal(signum: int, frame: FrameType | None) -> None:
    # Turned into an exception so every `finally` runs and stops the servers it started.
    raise KeyboardInterrupt(f"signal {signum}")


def _raise_file_limit() -> None:
    """10,000 idle subscribers need more than the usual 1,024 descriptors, here and in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _machine() -> dict[str, object]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(), "os": platform.platform()}


def _run_case(case: Case, ctx: Context) -> list[Row]:
    print(f"\n== {case.name}: {case.measures}", flush=True)
    started = time.monotonic()
    try:
        ran = case.run(ctx)
        rows = ran if isinstance(ran, list) else [ran]
    except NotRunError as error:
        rows = [Row(case.name, case.measures, case.unit, "rate", target=case.target, note=str(error))]
    except Exception as error:  # one broken case must not lose the others' figures
        traceback.print_exc()
        note = f"{type(error).__name__}: {error}"
        rows = [Row(case.name, case.measures, case.unit, "rate", target=case.target, note=note)]
    for row in rows:
        print(f"   {row.case}: {row.status} in {time.monotonic() - started:.0f} s {row.note}", flush=True)
    return rows


def results_dir(options: argparse.Namespace) -> Path:
    """`--out`, else the committed results with `--save`, else the ignored local folder."""
    out: Path | None = options.out
    return out or (RESULTS if options.save else LOCAL_RESULTS)


def main(argv: list[str] | None = None) -> int:
    options = _parser().parse_args(argv)
    if options.list:
        for case in CASES:
            print(f"{case.name:22} {'(--long only) ' if case.long_only else ''}{case.measures}")
        return 0
    unknown = set(options.case) - {case.name for case in CASES}
    if unknown:
        print(f"unknown case(s): {', '.join(sorted(unknown))}; see --list", file=sys.stderr)
        return 2
    selected = [
        c for c in CASES if (c.name in options.case) or (not options.case and (options.long or not c.long_only))
    ]

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    _raise_file_limit()
    generator = loadgen.choose(options.loadgen)
    ctx = Context(long=options.long, real=options.real, loadgen=generator, seconds=options.duration)
    meta: dict[str, object] = {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": "long" if options.long else "quick",
        "backends": "real PostgreSQL and Redis" if options.real else "embedded (SQLite file, fakeredis, mongomock)",
        "http load generator": generator.description if generator else "none (wrk missing, --loadgen wrk)",
        "python clients": "bench's own asyncio WebSocket and SSE clients, the same for case and baseline",
        "server": "uvicorn, one worker, uvloop and httptools, no access log, as `python -m <service>` runs",
        "rounds": f"{ctx.rounds} per side, alternating case and baseline",
        **_machine(),
        "note": "ratios are the headline; absolute figures are comparable only within one run",
    }
    print(f"bench: {meta['mode']} mode, {meta['backends']}; HTTP load: {meta['http load generator']}", flush=True)
    if generator is not None and generator.kind == "python":
        print("bench: wrk not found: HTTP cases use the Python fallback (apt-get install wrk for real figures)")
    rows: list[Row] = []
    try:
        for case in selected:
            rows.extend(_run_case(case, ctx))
    except KeyboardInterrupt:
        print("\nbench: interrupted; stopping every server it started", file=sys.stderr)
        return 130
    finally:
        servers.stop_all()
    if servers.kept_logs:
        meta["server errors"] = ", ".join(str(path) for path in servers.kept_logs)
    print()
    print("\n".join(table_lines(rows)))
    if servers.kept_logs:
        print("\nservers that logged a traceback (their logs are kept):", *servers.kept_logs, sep="\n  ")
    json_path, md_path = write(rows, meta, results_dir(options))
    print(f"\nwritten: {json_path} and {md_path}")
    return 0
