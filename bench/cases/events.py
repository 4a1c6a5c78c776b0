"""events: the rate one subscriber receives from the live stream against a minimal generator,
publish-to-receive latency, and the server's memory per idle subscriber (10,000 on one topic in
`--long`, 2,000 in quick mode) with, on real Redis, the service's Redis connections.

The stream rate is read from a topic filled beforehand and streamed from its beginning
(`last_event_id=0-0`): the service then sends as fast as it can read its store, as the
baseline's generator sends as fast as it can yield.
"""

import asyncio
import os
import statistics
import time

import httpx

from bench import real, servers
from bench.cases.common import Context, NotRunError, baseline, cpu_share, finish, running
from bench.results import Measurement, Row
from bench.sseclient import SseReader

CLIENT_CAP = 0.90
IDLE_SUBSCRIBERS_QUICK = 2_000
IDLE_SUBSCRIBERS_LONG = 10_000  # the target's figure (issue 14)
CONNECT_AT_ONCE = 50
LATENCY_RATE = 50.0  # publications per second: moderate, one at a time
TOPIC = f"bench-{os.getpid()}"


def _env(ctx: Context, max_length: int) -> dict[str, str]:
    env = {"EVENTS_STREAM_MAX_LENGTH": str(max_length)}
    if ctx.real:
        env["EVENTS_REDIS_URL"] = real.REDIS_URL
    return env


def _capped(m: Measurement, cpu: float) -> Measurement:
    m.extra["client_cpu"] = round(cpu, 3)
    if cpu >= CLIENT_CAP:
        m.capped = f"the client used {cpu:.0%} of a core"
    return m


async def _fill(url: str, topic: str, count: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        numbers = iter(range(count))

        async def publisher() -> None:
            for _ in numbers:
                response = await client.post(f"/api/topics/{topic}/events", json={"event": "bench", "data": {"n": 1}})
                if response.status_code != 201:
                    raise NotRunError(f"publishing failed: {response.status_code} {response.text[:200]}")

        await asyncio.gather(*(publisher() for _ in range(20)))


async def _stream_round(port: int, path: str, count: int) -> Measurement:
    reader = await SseReader.connect("127.0.0.1", port, path)
    if reader.status != 200:
        reader.close()
        raise NotRunError(f"GET {path} answered {reader.status}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        done_at = await asyncio.wait_for(reader.wait_for(count), timeout=120)
    finally:
        reader.close()
    return _capped(Measurement(rate=count / (done_at - reader.opened_at)), cpu_share(cpu0, wall0))


def stream(ctx: Context) -> Row:
    row = Row(
        "events-stream", "events/s to one subscriber vs a minimal generator", "events/s", "rate", target=">= 0.8x"
    )
    count = 20_000 if ctx.long else 5_000
    with running(("events", ["events"], _env(ctx, count + 10)), ("sse-baseline", baseline("sse"), {})) as (svc, base):
        asyncio.run(_fill(svc.url, TOPIC, count))
        paths = {svc.name: f"/api/topics/{TOPIC}/stream?last_event_id=0-0", base.name: f"/generate?count={count}"}
        case_rounds: list[Measurement] = []
        base_rounds: list[Measurement] = []
        # Rounds are short (a second or two), so twice as many; the first of each is a warm-up.
        for i in range(2 * ctx.rounds + 1):
            order: list[tuple[servers.Server, list[Measurement]]] = [(svc, case_rounds), (base, base_rounds)]
            for server, into in order if i % 2 == 0 else order[::-1]:
                m = asyncio.run(_stream_round(server.port, paths[server.name], count))
                m.rss_mb = server.peak_rss_mb()
                if i:
                    into.append(m)
    finish(row, case_rounds, base_rounds)
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.8
    return row


async def _latency_round(server: servers.Server, stream_path: str, publish: tuple[str, str], count: int) -> Measurement:
    arrived: dict[int, float] = {}
    waiting: dict[int, asyncio.Future[None]] = {}

    def on_data(data: bytes) -> None:
        seq = int(data.rsplit(b":", 1)[1].rstrip(b"}"))
        arrived[seq] = time.perf_counter()
        if (future := waiting.pop(seq, None)) is not None and not future.done():
            future.set_result(None)

    reader = await SseReader.connect("127.0.0.1", server.port, stream_path, on_data)
    latencies = []
    url, kind = publish
    cpu0, wall0 = time.process_time(), time.perf_counter()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            for seq in range(count):
                await asyncio.sleep(max(0.0, wall0 + seq / LATENCY_RATE - time.perf_counter()))
                # Kept here too: the event may arrive (and leave `waiting`) before the POST returns.
                here = waiting[seq] = asyncio.get_running_loop().create_future()
                sent = time.perf_counter()
                body = {"event": "bench", "data": {"seq": seq}} if kind == "service" else {"seq": seq}
                response = await client.post(url, json=body)
                if response.status_code != 201:
                    raise NotRunError(f"publishing failed: {response.status_code} {response.text[:200]}")
                await asyncio.wait_for(here, timeout=10)
                latencies.append(arrived[seq] - sent)
    finally:
        reader.close()
    elapsed = time.perf_counter() - wall0
    cuts = statistics.quantiles(latencies, n=100)
    m = Measurement(rate=count / elapsed, p50_ms=cuts[49] * 1000, p99_ms=cuts[98] * 1000)
    return _capped(m, cpu_share(cpu0, wall0))


def latency(ctx: Context) -> Row:
    backend = "Redis" if ctx.real else "fakeredis"
    row = Row(
        "events-latency",
        f"publish-to-receive through {backend}, {LATENCY_RATE:g}/s, vs in-memory",
        "events/s",
        "p99",
        target="p99 <= 20 ms",
    )
    count = int(LATENCY_RATE * (10 if ctx.long else 3))
    with running(("events", ["events"], _env(ctx, 1000)), ("sse-baseline", baseline("sse"), {})) as (svc, base):
        topic = f"{TOPIC}-latency"
        plans = {
            svc.name: (f"/api/topics/{topic}/stream", (f"/api/topics/{topic}/events", "service")),
            base.name: ("/live", ("/publish", "baseline")),
        }
        case_rounds: list[Measurement] = []
        base_rounds: list[Measurement] = []
        for i in range(ctx.rounds):
            order: list[tuple[servers.Server, list[Measurement]]] = [(svc, case_rounds), (base, base_rounds)]
            for server, into in order if i % 2 == 0 else order[::-1]:
                path, publish = plans[server.name]
                m = asyncio.run(_latency_round(server, path, publish, count))
                m.rss_mb = server.peak_rss_mb()
                into.append(m)
    finish(row, case_rounds, base_rounds)
    if row.case_m is not None and row.case_m.p99_ms is not None and row.status == "ok":
        row.met = row.case_m.p99_ms <= 20.0
    return row


async def _subscribe(server: servers.Server, path: str, count: int) -> list[SseReader]:
    """`count` streams, opened CONNECT_AT_ONCE at a time (one by one, 10,000 take minutes)."""
    gate = asyncio.Semaphore(CONNECT_AT_ONCE)

    async def one() -> SseReader:
        async with gate:
            return await SseReader.connect("127.0.0.1", server.port, path)

    return list(await asyncio.gather(*(one() for _ in range(count))))


async def _idle_round(server: servers.Server, path: str, count: int, redis_name: str | None) -> Measurement:
    """The server's memory per idle subscriber: its RSS with `count` more streams open, less its
    RSS with one (imports done, the topic's reader running), over `count`."""
    readers = await _subscribe(server, path, 1)
    try:
        await asyncio.sleep(1.0)
        before = server.rss_mb() or 0.0
        readers += await _subscribe(server, path, count)
        await asyncio.sleep(2.0)  # let the server settle: every stream is parked on its read
        after = server.rss_mb() or 0.0
        m = Measurement(rate=(after - before) * 1024 / count, rss_mb=after)
        m.extra["rss_before_mb"] = before
        # A refused subscriber is a result, not a failure of the bench: it is counted and shown.
        m.extra["refused"] = sum(r.status != 200 for r in readers)
        if redis_name is not None:
            m.extra["redis_connections"] = await real.redis_clients(redis_name)
        return m
    finally:
        for reader in readers:
            reader.close()
        await asyncio.gather(*(r.closed for r in readers))


def idle(ctx: Context) -> Row:
    count = IDLE_SUBSCRIBERS_LONG if ctx.long else IDLE_SUBSCRIBERS_QUICK
    row = Row(
        "events-idle",
        f"server memory per idle subscriber, {count:,} on one topic, vs in-memory streams",
        "KB/subscriber",
        "rate",
        target="<= 1.1x; Redis connections <= topics + 5",
    )
    with running(("events", ["events"], _env(ctx, 1000)), ("sse-baseline", baseline("sse"), {})) as (svc, base):
        # The service's connections are named after it (CLIENT SETNAME); counted on real Redis only.
        case_m = asyncio.run(
            _idle_round(svc, f"/api/topics/{TOPIC}-idle/stream", count, "events" if ctx.real else None)
        )
        base_m = asyncio.run(_idle_round(base, "/live", count, None))
    finish(row, [case_m], [base_m])
    notes = [f"{count:,} subscribers" + ("" if ctx.long else f" (quick mode; --long: {IDLE_SUBSCRIBERS_LONG:,})")]
    refused = int(case_m.extra["refused"])
    if refused:
        notes.append(f"{refused:,} of {count:,} subscribers were refused (HTTP 503), memory is for the rest")
    if base_m.extra["refused"]:
        notes.append(f"the baseline refused {int(base_m.extra['refused']):,}")
    connections_ok = True
    if ctx.real:
        connections = int(case_m.extra["redis_connections"])
        connections_ok = connections <= 1 + 5  # one topic
        notes.append(f"Redis connections named events: {connections} (target <= 6: one topic + 5)")
    else:
        notes.append("Redis connections: --real only (fakeredis runs in the server's process)")
    row.note = "; ".join(notes)
    if row.ratio is not None and row.status == "ok":
        row.met = row.ratio <= 1.1 and connections_ok and not refused
    return row
