"""The SQL engine, the request log's writes, and the statistics read from it."""

import math
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import event, make_url, select
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from gateway.models import Base, ProxiedRequest

# Seconds a writer waits for SQLite's lock before it fails with "database is locked".
SQLITE_BUSY_TIMEOUT = 30


def create_engine(database_url: str) -> AsyncEngine:
    """One engine (and so one connection pool) for the app's whole life.

    On PostgreSQL, `pool_pre_ping` replaces connections the server closed while the app was
    idle. SQLite has no server to drop them, and the ping would cost a round trip per request.
    SQLite's default journal waits for a full fsync on every commit, one writer at a time, so
    under load writers queued past its 5 s busy timeout ("database is locked", a 500). It runs
    in WAL mode with `synchronous=NORMAL` (a crash may lose the last commits, never corrupt the
    file), and a writer waits up to SQLITE_BUSY_TIMEOUT seconds for its turn (bench/README.md).
    """
    if make_url(database_url).get_backend_name() != "sqlite":
        return create_async_engine(database_url, pool_pre_ping=True)
    engine = create_async_engine(database_url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
    event.listen(engine.sync_engine, "connect", _tune_sqlite)
    return engine


def _tune_sqlite(connection: DBAPIConnection, _: object) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def create_tables(engine: AsyncEngine) -> None:
    """Create missing tables. A real deployment would run migrations (Alembic) instead."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def record(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    method: str,
    service: str,
    path: str,
    status: int,
    duration_ms: float,
) -> None:
    async with sessionmaker() as session:
        session.add(
            ProxiedRequest(method=method, service=service, path=path[:2048], status=status, duration_ms=duration_ms)
        )
        await session.commit()


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of values already sorted ascending."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


async def stats_per_service(session: AsyncSession) -> dict[str, dict[str, float]]:
    """Count and latency percentiles (ms) per service.

    Computed in Python to stay portable between SQLite and PostgreSQL; at a scale where this
    table is large, use PostgreSQL's percentile_cont or a metrics system instead.
    """
    durations: dict[str, list[float]] = defaultdict(list)
    rows = await session.execute(select(ProxiedRequest.service, ProxiedRequest.duration_ms))
    for service, duration in rows:
        durations[service].append(duration)
    result: dict[str, dict[str, float]] = {}
    for service, values in sorted(durations.items()):
        values.sort()
        result[service] = {
            "count": len(values),
            "p50_ms": percentile(values, 0.50),
            "p95_ms": percentile(values, 0.95),
            "p99_ms": percentile(values, 0.99),
        }
    return result
