"""Real backends for `--real`: PostgreSQL and Redis on this machine, in places of the bench's own.

Each service gets a database of its own (`bench_<service>`, created if missing) and Redis
database 15, so the bench never touches the `test` database or the Redis databases the suites
use (one per xdist worker from each engineer's base number, flushed around every test: 13 and
14 among them).
"""

import asyncio

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
REDIS_DB = 15
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"


def database_url(service: str) -> str:
    return f"{POSTGRES}/bench_{service}"


async def _ensure(names: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres", timeout=5)
    try:
        existing = {r["datname"] for r in await connection.fetch("SELECT datname FROM pg_database")}
        for name in names:
            if name not in existing:
                await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def _reset(service: str, tables: list[str]) -> None:
    import asyncpg

    connection = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/bench_{service}", timeout=5)
    try:
        for table in tables:
            await connection.execute(f'DROP TABLE IF EXISTS "{table}"')
    finally:
        await connection.close()


def prepare(service: str, drop_tables: list[str]) -> str:
    """The URL of the service's own bench database, created if missing, with `drop_tables` gone
    (so a run starts from the same rows as the last)."""
    asyncio.run(_ensure([f"bench_{service}"]))
    asyncio.run(_reset(service, drop_tables))
    return database_url(service)


async def redis_clients(name: str) -> int:
    """How many connections to the bench's Redis database carry `name` (CLIENT SETNAME: every
    service names its connections after itself). Other databases' clients are not counted: the
    suites running beside the bench use the same server."""
    from redis.asyncio import Redis

    async with Redis.from_url(REDIS_URL) as redis:
        clients = await redis.client_list()
    return sum(1 for c in clients if c.get("name") == name and str(c.get("db")) == str(REDIS_DB))


async def _flush_redis() -> None:
    from redis.asyncio import Redis

    async with Redis.from_url(REDIS_URL) as redis:
        await redis.flushdb()


def flush_redis() -> None:
    """Empty the bench's own Redis database (a queue's stream left by an interrupted run)."""
    asyncio.run(_flush_redis())
