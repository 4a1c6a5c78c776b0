"""The command line: `python -m scripts.soak --minutes N` (hatch run soak)."""

import argparse
import asyncio
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from scripts.serve_all import REAL_DATABASES, REAL_POSTGRES_URL, REAL_REDIS_URL
from scripts.smoke_against_serve import NotServingError, serving
from scripts.soak import load as loading
from scripts.soak import resources, verdict

ROOT = Path(__file__).resolve().parent.parent.parent
# The table goes beside the bench's results: into an ignored folder unless `--save` (committed).
SAVED = ROOT / "bench" / "results"
LOCAL = SAVED / "local"  # in .gitignore
DEV_SECRET = "change-me-in-production-a-32-byte-key"
# uvicorn (keep-alive 5 s) and the gateway's upstream pool (httpx: 5 s) close idle connections
# after 5 s; measured before that, the baseline would count the warm-up's connections.
QUIET = 6.0
SETTLE_TIMEOUT = 30.0  # seconds the footprint may take to come back after the load stops
SAMPLE_EVERY = 1.0
MAX_MINUTES = 60.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
# The system the soak starts admits its load: the gateway's per-client rate limit (100 requests a
# minute) would answer most of it 429, and the soak measures leaks, not the limiter.
SERVE_ENV = {"GATEWAY_RATE_LIMIT": "1000000"}
NOT_MEASURED = "asyncio task counts (they need a debug endpoint in every service, which is not wanted)"


def token(secret: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "soak", "iat": now, "exp": now + 4 * 3600}, secret, algorithm="HS256")


async def run_load(
    base_url: str, secret: str, run_id: str, seconds: float, where: resources.Where
) -> tuple[loading.Tally, dict[str, dict[str, float]]]:
    """The mix for `seconds`, sampling the footprint meanwhile; the tally and each metric's peak."""
    tally, peak = loading.Tally(), dict[str, dict[str, float]]()
    async with httpx.AsyncClient(base_url=base_url, timeout=loading.STEP_TIMEOUT) as http:
        load = loading.Load(http, base_url.replace("http", "ws", 1), token(secret), run_id, tally)
        sampling = asyncio.create_task(_sample_peaks(where, peak))
        try:
            await loading.drive(load, seconds)
        finally:
            sampling.cancel()
    return tally, peak


async def _sample_peaks(where: resources.Where, peak: dict[str, dict[str, float]]) -> None:
    while True:
        for service, metrics in (await asyncio.to_thread(resources.sample, where)).items():
            for metric, value in metrics.items():
                peak.setdefault(service, {})[metric] = max(value, peak.get(service, {}).get(metric, value))
        await asyncio.sleep(SAMPLE_EVERY)


async def missing_articles(base_url: str, articles: dict[int, str]) -> list[int]:
    """The created articles that cannot be read back with their title."""
    async with httpx.AsyncClient(base_url=base_url, timeout=loading.STEP_TIMEOUT) as http:
        missing = []
        for article_id, title in articles.items():
            read = await http.get(f"/articles/api/articles/{article_id}")
            if read.status_code != 200 or read.json()["title"] != title:
                missing.append(article_id)
        return missing


async def delete_articles(base_url: str, secret: str, articles: dict[int, str]) -> None:
    auth = {"Authorization": f"Bearer {token(secret)}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=loading.STEP_TIMEOUT) as http:
        for article_id in articles:
            await http.delete(f"/articles/api/articles/{article_id}", headers=auth)


def settle(where: resources.Where, baseline: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Sample until every metric is within its tolerance, or SETTLE_TIMEOUT passes; the last sample."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while not verdict.settled(baseline, now := resources.sample(where)) and time.monotonic() < deadline:
        time.sleep(SAMPLE_EVERY)
    return now


def soak(options: argparse.Namespace, base_url: str, where: resources.Where) -> int:
    seconds = options.minutes * 60
    run_id = f"{int(time.time())}-{secrets.token_hex(3)}"
    warm = min(max(seconds * 0.1, 2.0), 15.0)
    print(f"soak: {base_url}, warm-up {warm:g}s, then {seconds:g}s of load", flush=True)
    # The first requests of each kind import, allocate and open pools once: the warm-up runs the
    # same mix first, so the baseline is the system at work, and only growth after it counts.
    asyncio.run(run_load(base_url, options.jwt_secret, f"warm-{run_id}", warm, where))
    time.sleep(QUIET)
    baseline = resources.sample(where)
    tally, peak = asyncio.run(run_load(base_url, options.jwt_secret, run_id, seconds, where))
    final = settle(where, baseline)
    missing = asyncio.run(missing_articles(base_url, tally.articles))
    if options.base_url:
        asyncio.run(delete_articles(base_url, options.jwt_secret, tally.articles))
    table = verdict.rows(baseline, peak, final)
    load_summary: dict[str, Any] = {
        "rounds": dict(tally.rounds),
        "responses": {f"{s} {code}": n for (s, code), n in sorted(tally.statuses.items())},
        "server_errors": tally.server_errors,
        "unexpected": dict(tally.unexpected),
        "errors": dict(tally.errors),
    }
    problems = verdict.failures(table, load_summary, missing)
    report = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "backend": options.backend,
        "seconds": seconds,
        "base_url": base_url,
        "load": load_summary,
        "articles": {"created": len(tally.articles), "missing": missing},
        "not_measured": NOT_MEASURED,
        "verdict": "passed" if not problems else "failed",
        "failures": problems,
    }
    print(verdict.markdown(table))
    print(f"rounds: {load_summary['rounds']}; responses: {load_summary['responses']}")
    print(f"articles created: {len(tally.articles)}, missing: {len(missing)}; not measured: {NOT_MEASURED}")
    for path in verdict.write(report, table, options.out_dir, f"soak-{options.backend}"):
        print(f"wrote {path}")
    for problem in problems:
        print(f"soak FAILED: {problem}")
    print(f"soak {report['verdict']}", flush=True)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=2.0, help=f"length of the load (at most {MAX_MINUTES:g})")
    parser.add_argument("--base-url", help="a running gateway on this machine (default: start the system)")
    parser.add_argument("--backend", choices=("embedded", "real"), default="embedded", help="of the system started")
    parser.add_argument("--jwt-secret", default=DEV_SECRET, help="the articles service's token secret")
    parser.add_argument("--save", action="store_true", help="write the table to bench/results/ (committed)")
    parser.add_argument("--out-dir", type=Path, help="where the table goes (default bench/results/local/, ignored)")
    options = parser.parse_args(argv)
    options.out_dir = results_dir(options)
    if not 0 < options.minutes <= MAX_MINUTES:
        parser.error(f"--minutes must be above 0 and at most {MAX_MINUTES:g}")
    if options.base_url and urlsplit(options.base_url).hostname not in LOOPBACK:
        parser.error("--base-url must be on this machine (loopback): the soak is a load")
    if options.base_url:
        # Someone else's processes: only what crosses the gateway can be judged.
        return soak(options, options.base_url.rstrip("/"), resources.Where(pids={}))
    try:
        with serving(["--backend", options.backend], SERVE_ENV) as system:
            return soak(options, system.base_url, where_to_measure(system.pids, real=options.backend == "real"))
    except NotServingError as error:
        print(f"soak: {error}", flush=True)
        return 2


def results_dir(options: argparse.Namespace) -> Path:
    """`--out-dir`, else the committed results with `--save`, else the ignored local folder."""
    out: Path | None = options.out_dir
    return out or (SAVED if options.save else LOCAL)


def where_to_measure(pids: dict[str, int], *, real: bool) -> resources.Where:
    """The processes, and on the real backend the Redis database and PostgreSQL databases serve uses."""
    return resources.Where(
        pids=pids,
        redis_url=REAL_REDIS_URL if real else None,
        postgres_url=REAL_POSTGRES_URL if real else None,
        databases=dict(REAL_DATABASES) if real else None,
    )


if __name__ == "__main__":
    sys.exit(main())
