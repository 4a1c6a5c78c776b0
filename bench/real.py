"""Real backends for `--real`: PostgreSQL and Redis on this machine, in places of the bench's own.

Each service gets a database of its own (`bench_<service>`, created if missing) and Redis
database 14, so the bench never touches the `test` database or the low Redis databases the
suites use (one per xdist worker, flushed around every test).
"""

import asyncio

POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/14"


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
