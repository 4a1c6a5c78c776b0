"""The statistics read from the request log's table (its engine and tables: service_runtime.sql.open_database)."""

import math
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway.models import ProxiedRequest


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
