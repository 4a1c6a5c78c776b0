"""processing: articles processed per second end to end, with 20 in flight, in each mode.

Each of 20 workers triggers an article (`POST .../process`, 202) and polls it until it is
`processed`, then takes the next. The polls back off (5 ms doubling to 40 ms), so that they do not
become most of the load. The sides, each measured in every round, in alternating order:

- `baseline` (bench/baselines/processing.py): the same three steps with the same summariser and
  nothing else;
- `background`: the service's default, `PROCESSING_MODE=background` (FastAPI BackgroundTasks);
- `queue`: `PROCESSING_MODE=queue` without Redis: taskiq's in-memory broker in the API process;
- `redis-1`, `redis-2` (`--real` only): queue mode on Redis, with one `python -m
  processing.worker` process, and with a second one started for the round and stopped after it.

Four rows come of it: background vs the baseline, queue vs background, Redis with one worker vs
background, two workers vs one.
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


WORKER_READY = "worker ready"  # what processing.worker logs once it takes jobs
REAL_ONLY = "--real only: workers are processes of their own, sharing the API's PostgreSQL and Redis"


def _rows() -> dict[str, Row]:
    unit = "articles/s"
    return {
        "processing": Row("processing", f"background mode vs a minimal app, {IN_FLIGHT} in flight", unit, "rate"),
        "processing-queue": Row("processing-queue", "queue mode, in-memory broker, vs background mode", unit, "rate"),
        "processing-redis": Row("processing-redis", "queue mode on Redis, 1 worker, vs background mode", unit, "rate"),
        "processing-workers": Row("processing-workers", "queue mode on Redis, 2 workers vs 1", unit, "rate"),
    }


def _envs(ctx: Context) -> dict[str, dict[str, str]]:
    """Each API server's environment; on `--real`, each its own PostgreSQL database."""
    envs: dict[str, dict[str, str]] = {"background": {}, "queue": {"PROCESSING_MODE": "queue"}}
    if ctx.real:
        real.flush_redis()  # a stream left by an interrupted run would feed the worker stale jobs
        envs["redis"] = {"PROCESSING_MODE": "queue", "PROCESSING_REDIS_URL": real.REDIS_URL}
        for side, env in envs.items():
            suffix = "" if side == "background" else f"_{side}"
            env["PROCESSING_DATABASE_URL"] = real.prepare(f"processing{suffix}", ["articles", "bench_articles"])
    return envs


def _measure(server: servers.Server, ids: list[int], ctx: Context) -> Measurement:
    m = asyncio.run(_round(server.url, ids, ctx.duration))
    m.rss_mb = server.peak_rss_mb()
    return m


def throughput(ctx: Context) -> list[Row]:
    rows = _rows()
    envs = _envs(ctx)
    base_env = {"BENCH_DATABASE_URL": envs["background"]["PROCESSING_DATABASE_URL"]} if ctx.real else {}
    apis = [(side, ["processing"], env) for side, env in envs.items()]
    with running(("baseline", baseline("processing"), base_env), *apis) as started:
        by_side = {server.name: server for server in started}
        ids = {server.name: asyncio.run(_create(server.url)) for server in started}
        worker_env = envs.get("redis")
        workers = []
        if worker_env is not None:
            workers.append(_worker(1, worker_env, by_side["redis"]))
        try:
            measured = _alternate(ctx, by_side, ids, worker_env)
        finally:
            for worker in workers:
                worker.stop()
    finish(rows["processing"], measured["background"], measured["baseline"])
    finish(rows["processing-queue"], measured["queue"], measured["background"])
    if ctx.real:
        finish(rows["processing-redis"], measured["redis-1"], measured["background"])
        finish(rows["processing-workers"], measured["redis-2"], measured["redis-1"])
    else:
        rows["processing-redis"].note = rows["processing-workers"].note = REAL_ONLY
    return list(rows.values())


def _worker(number: int, env: dict[str, str], api: servers.Server) -> servers.Server:
    """A `python -m processing.worker` beside the API (its working directory), ready to take jobs."""
    workdir = api.workdir / f"worker-{number}"
    workdir.mkdir(exist_ok=True)
    try:
        return servers.start(f"worker-{number}", ["processing.worker"], env, workdir, ready_line=WORKER_READY)
    except servers.ServerStartError as error:
        raise NotRunError(str(error)) from error


def _alternate(
    ctx: Context, by_side: dict[str, servers.Server], ids: dict[str, list[int]], worker_env: dict[str, str] | None
) -> dict[str, list[Measurement]]:
    """Every side once a round, the order reversed every other round, so a burst of load from
    elsewhere hits them all. The second worker runs only for its side's round: between rounds
    no job is in flight (each client waits for its article), so stopping it loses nothing."""
    sides = ["baseline", "background", "queue"] + (["redis-1", "redis-2"] if worker_env is not None else [])
    measured: dict[str, list[Measurement]] = {side: [] for side in sides}
    for i in range(ctx.rounds):
        for side in sides if i % 2 == 0 else sides[::-1]:
            server = by_side[side.split("-")[0]]
            if side != "redis-2":
                measured[side].append(_measure(server, ids[server.name], ctx))
                continue
            assert worker_env is not None
            second = _worker(2, worker_env, server)
            try:
                measured[side].append(_measure(server, ids[server.name], ctx))
            finally:
                second.stop()
    return measured
