"""The SQL engine, the request log's writes, and the statistics read from it."""

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, event, func, make_url, select, text
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


# PostgreSQL advisory lock key for creating the schema: processes starting together (instances,
# queue workers) raced on CREATE TABLE ("relation already exists"); one at a time, the later ones
# find the tables made. SQLite's file lock already serialises them.
SCHEMA_LOCK = 7_164_083


async def create_tables(engine: AsyncEngine) -> None:
    """Create missing tables. A real deployment would run migrations (Alembic) instead."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        await connection.run_sync(Base.metadata.create_all)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of values already sorted ascending (what SQLite's query computes)."""
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


FRACTIONS = {"p50_ms": 0.50, "p95_ms": 0.95, "p99_ms": 0.99}


def _postgres_query() -> Select[Any]:
    """PostgreSQL's own percentile_cont (interpolated between the two nearest values)."""
    duration = ProxiedRequest.duration_ms
    return select(
        ProxiedRequest.service,
        func.count(),
        *(func.percentile_cont(f).within_group(duration).label(name) for name, f in FRACTIONS.items()),
    ).group_by(ProxiedRequest.service)


def _portable_query() -> Select[Any]:
    """Nearest-rank percentiles with window functions, for SQLite, which has no percentile_cont:
    the p-th percentile is the smallest value whose rank is at least p * count. One pass of
    sorting per service in SQL; only one row per service comes back to Python."""
    ranked = select(
        ProxiedRequest.service,
        ProxiedRequest.duration_ms,
        func.row_number().over(partition_by=ProxiedRequest.service, order_by=ProxiedRequest.duration_ms).label("rank"),
        func.count().over(partition_by=ProxiedRequest.service).label("n"),
    ).subquery()
    return select(
        ranked.c.service,
        func.count(),
        *(
            func.min(case((ranked.c.rank >= fraction * ranked.c.n, ranked.c.duration_ms))).label(name)
            for name, fraction in FRACTIONS.items()
        ),
    ).group_by(ranked.c.service)


async def stats_per_service(session: AsyncSession) -> dict[str, dict[str, float]]:
    """Count and latency percentiles (ms) per service, aggregated in SQL."""
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = await session.execute((_postgres_query() if postgres else _portable_query()).order_by("service"))
    return {
        service: {"count": count} | dict(zip(FRACTIONS, map(float, values), strict=True))
        for service, count, *values in rows
    }
