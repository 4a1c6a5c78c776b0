"""processing: articles processed per second end to end, with 20 in flight.

Each of 20 workers triggers an article (`POST .../process`, 202) and polls it until it is
`processed`, then takes the next. The polls back off (5 ms doubling to 40 ms), so that they do not
become most of the load. The baseline (bench/baselines/processing.py) does the same three steps
with the same summariser and nothing else.
"""

import asyncio
import itertools
import statistics
import time

import httpx

from bench import real, servers
from bench.cases.common import Context, NotRunError, baseline, cpu_share, finish, running
from bench.results import Measurement, Row

IN_FLIGHT = 20
ARTICLES = 60  # three times those in flight: a triggered article has long finished when its turn comes again
CLIENT_CAP = 0.90
CONTENT = " ".join(
    f"Sentence {i} says something about async testing, databases and queues. Another one follows it." for i in range(30)
)


async def _create(url: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        ids = []
        for i in range(ARTICLES):
            response = await client.post("/api/articles/", json={"title": f"Article {i}", "content": CONTENT})
            if response.status_code != 201:
                raise NotRunError(f"creating articles failed: {response.status_code} {response.text[:200]}")
            ids.append(int(response.json()["id"]))
        return ids


async def _round(url: str, ids: list[int], duration: float) -> Measurement:
    queue = itertools.cycle(ids)
    latencies: list[float] = []
    failures = 0
    server_errors = 0
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        cpu0, wall0 = time.process_time(), time.perf_counter()
        deadline = wall0 + duration

        async def worker() -> None:
            nonlocal failures, server_errors
            while time.perf_counter() < deadline:
                article_id = next(queue)
                started = time.perf_counter()
                response = await client.post(f"/api/articles/{article_id}/process")
                if response.status_code == 409:  # still in flight from its last turn: take another
                    continue
                if response.status_code >= 500:  # a result, not the bench's failure: counted and shown
                    server_errors += 1
                    continue
                if response.status_code != 202:
                    raise NotRunError(f"trigger answered {response.status_code}: {response.text[:200]}")
                pause = 0.005
                while True:
                    await asyncio.sleep(pause)
                    status = (await client.get(f"/api/articles/{article_id}")).json()["status"]
                    if status in ("processed", "failed"):
                        break
                    pause = min(pause * 2, 0.04)
                failures += status == "failed"
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
        elapsed, cpu = time.perf_counter() - wall0, cpu_share(cpu0, wall0)
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    m = Measurement(rate=len(latencies) / elapsed, p50_ms=cuts[49] * 1000, p99_ms=cuts[98] * 1000)
    m.extra["client_cpu"] = round(cpu, 3)
    if cpu >= CLIENT_CAP:
        m.capped = f"the client used {cpu:.0%} of a core"
    if failures or server_errors:
        m.error = f"{server_errors} triggers answered 5xx, {failures} articles ended failed"
    return m


def throughput(ctx: Context) -> Row:
    row = Row("processing", f"articles processed/s end to end, {IN_FLIGHT} in flight", "articles/s", "rate")
    case_env, base_env = {}, {}
    if ctx.real:
        case_env["PROCESSING_DATABASE_URL"] = real.prepare("processing", ["articles", "bench_articles"])
        base_env["BENCH_DATABASE_URL"] = case_env["PROCESSING_DATABASE_URL"]
    with running(
        ("processing", ["processing"], case_env), ("processing-baseline", baseline("processing"), base_env)
    ) as (svc, base):
        ids = {server.name: asyncio.run(_create(server.url)) for server in (svc, base)}
        case_rounds: list[Measurement] = []
        base_rounds: list[Measurement] = []
        for i in range(ctx.rounds):
            order: list[tuple[servers.Server, list[Measurement]]] = [(svc, case_rounds), (base, base_rounds)]
            for server, into in order if i % 2 == 0 else order[::-1]:
                m = asyncio.run(_round(server.url, ids[server.name], ctx.duration))
                m.rss_mb = server.peak_rss_mb()
                into.append(m)
    return finish(row, case_rounds, base_rounds)
