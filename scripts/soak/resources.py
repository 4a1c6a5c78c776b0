"""Each service's footprint: memory and file descriptors from /proc, Redis clients, database connections."""

import asyncio
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from redis import Redis

PAGE = 1024  # /proc/<pid>/status gives VmRSS in kB


@dataclass(frozen=True)
class Where:
    """What can be measured: the services' pids, and on the real backend their Redis and databases."""

    pids: dict[str, int]
    redis_url: str | None = None  # CLIENT LIST, filtered to this database number
    postgres_url: str | None = None  # pg_stat_activity
    databases: dict[str, str] | None = None  # service -> database name


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * PAGE / 1e6
    raise ValueError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def redis_clients(url: str) -> dict[str, int]:
    """Connections per client name on this Redis database number (every service names its own)."""
    with Redis.from_url(url, socket_timeout=5) as redis:
        database = str(redis.connection_pool.connection_kwargs.get("db", 0))
        counts: dict[str, int] = {}
        for client in redis.client_list():
            if client.get("db") == database and client.get("name"):
                counts[client["name"]] = counts.get(client["name"], 0) + 1
        return counts


def database_connections(url: str, databases: dict[str, str]) -> dict[str, int]:
    """Connections per service, counted by its database in pg_stat_activity."""

    async def count() -> dict[str, int]:
        connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
        try:
            rows = await connection.fetch(
                "SELECT datname, count(*) AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() GROUP BY datname"
            )
        finally:
            await connection.close()
        by_database = {row["datname"]: row["n"] for row in rows}
        return {service: by_database.get(database, 0) for service, database in databases.items()}

    return asyncio.run(count())


def sample(where: Where) -> dict[str, dict[str, float]]:
    """{service: {metric: value}} for every metric this system allows measuring."""
    metrics: dict[str, dict[str, float]] = {
        name: {"rss_mb": rss_mb(pid), "fds": open_fds(pid)} for name, pid in where.pids.items()
    }
    if where.redis_url is not None:
        clients = redis_clients(where.redis_url)
        for name in metrics:
            metrics[name]["redis_clients"] = clients.get(name, 0)
    if where.postgres_url is not None and where.databases:
        for name, connections in database_connections(where.postgres_url, where.databases).items():
            metrics.setdefault(name, {})["db_connections"] = connections
    return metrics
