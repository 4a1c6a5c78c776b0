"""Every proxied request is recorded; /api/stats summarises them per service."""

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import make_url, select, text

from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.faults import table_locked
from fastapi_testkit.routing import RoutingTransport
from gateway.app import create_app
from gateway.models import ProxiedRequest
from gateway.settings import Settings
from gateway.storage import percentile

from .helpers import failing

pytestmark = pytest.mark.db


async def test_each_proxied_request_is_recorded(client: LifespanClient) -> None:
    await client.post("/articles/api/articles/", content=b"{}")
    await client.get("/events/missing", params={"status": 404})

    await client.state["request_log"].flush()
    async with client.state["sessionmaker"]() as session:
        rows = (await session.scalars(select(ProxiedRequest).order_by(ProxiedRequest.id))).all()

    assert [(r.method, r.service, r.path, r.status) for r in rows] == [
        ("POST", "articles", "/api/articles/", 200),
        ("GET", "events", "/missing", 404),
    ]
    assert all(r.duration_ms >= 0 for r in rows)


async def test_failed_upstream_calls_are_recorded_with_the_gateways_status(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    upstreams["events.test"] = failing(httpx.ConnectError("refused"))

    reply = await client.get("/events/x")

    await client.state["request_log"].flush()
    async with client.state["sessionmaker"]() as session:
        rows = (await session.scalars(select(ProxiedRequest))).all()
    assert reply.status_code == 502, reply.text
    assert [(r.method, r.service, r.path, r.status) for r in rows] == [("GET", "events", "/x", 502)]


async def test_requests_the_gateway_refuses_are_not_recorded(client: LifespanClient) -> None:
    await client.get("/billing/x")
    await client.post("/articles/x", content=b"x" * 2000)
    await client.get("/articles/x")  # one that is recorded: the log is written by then
    await client.state["request_log"].flush()

    assert (await client.get("/api/stats")).json().keys() == {"articles"}
    assert (await client.get("/api/stats")).json()["articles"]["count"] == 1


async def test_stats_count_and_percentiles_per_service(client: LifespanClient) -> None:
    for _ in range(3):
        await client.get("/articles/x")
    await client.get("/processing/x")
    await client.state["request_log"].flush()

    stats = (await client.get("/api/stats")).json()

    assert set(stats) == {"articles", "processing"}
    assert stats["articles"]["count"] == 3
    assert stats["processing"]["count"] == 1
    for service in stats.values():
        assert 0 <= service["p50_ms"] <= service["p95_ms"] <= service["p99_ms"]


@pytest.mark.parametrize(("fraction", "expected"), [(0.5, 50.0), (0.95, 95.0), (0.99, 99.0), (0.0, 1.0), (1.0, 100.0)])
def test_percentile_is_nearest_rank(fraction: float, expected: float) -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentile(values, fraction) == expected


@pytest.mark.embedded_only(reason="the pragmas and the busy timeout are SQLite's; PostgreSQL has its own")
async def test_on_sqlite_the_log_commits_cheaply_and_writers_queue(client: LifespanClient) -> None:
    """WAL, synchronous=NORMAL and a 30 s busy timeout (service_runtime.sql.create_engine): a commit per
    proxied request costs no full fsync, and concurrent writers wait their turn."""
    await client.state["request_log"].flush()
    async with client.state["sessionmaker"]() as session:
        pragmas = [await session.scalar(text(f"PRAGMA {p}")) for p in ("journal_mode", "synchronous", "busy_timeout")]

    assert pragmas == ["wal", 1, 30_000]  # synchronous 1 is NORMAL; the timeout is in milliseconds


async def test_metrics_count_requests_per_service_and_status(client: LifespanClient) -> None:
    await client.get("/articles/x")
    await client.get("/articles/x", params={"status": 404})

    metrics = (await client.get("/metrics")).text

    assert 'gateway_requests_total{service="articles",status="200"} 1.0' in metrics
    assert 'gateway_requests_total{service="articles",status="404"} 1.0' in metrics
    assert 'gateway_request_duration_seconds_count{service="articles",status="200"} 1.0' in metrics


@asynccontextmanager
async def log_writes_blocked(database_url: str) -> AsyncIterator[None]:
    """Every write to the request log waits for the block to end: SQLite's write lock taken (the
    log's busy timeout is 30 s), or PostgreSQL's table locked."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        async with table_locked(database_url, "proxied_requests"):
            yield
        return
    holder = sqlite3.connect(str(url.database), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.close()  # its transaction is rolled back


async def test_entries_past_a_full_log_queue_are_dropped_and_counted_in_metrics(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """A queue of one entry, its writer held by a locked table: of 5 requests, at most 2 entries
    are held (one being written, one queued); every other one is counted as dropped, and each
    request is either recorded or counted."""
    requests = 5
    tiny = settings.model_copy(update={"log_queue_size": 1, "log_batch_size": 1})
    async with lifespan_client(create_app(tiny, transport=RoutingTransport(upstreams))) as client:
        async with log_writes_blocked(settings.database_url):
            answers = [(await client.get("/articles/x")).status_code for _ in range(requests)]
            metrics = (await client.get("/metrics")).text
        await client.state["request_log"].flush()
        recorded = (await client.get("/api/stats")).json()["articles"]["count"]

    [dropped] = re.findall(r"^gateway_request_log_dropped_total (\S+)$", metrics, re.MULTILINE)
    assert answers == [200] * requests
    assert requests - 2 <= float(dropped) <= requests - 1
    assert recorded + float(dropped) == requests
