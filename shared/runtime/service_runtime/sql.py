"""SQL set-up for the services on SQLAlchemy: one engine per app, a session per request, the
tables, and the 503 for a database connection lost under a request (the `sql` extra)."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy import MetaData, event, make_url, text
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from service_runtime.errors import Handler

# Seconds a writer waits for SQLite's lock before it fails with "database is locked".
SQLITE_BUSY_TIMEOUT = 30

# PostgreSQL advisory lock key for creating the schema: processes starting together (instances,
# queue workers) raced on CREATE TABLE ("relation already exists"); one at a time, the later ones
# find the tables made. SQLite's file lock already serialises them.
SCHEMA_LOCK = 7_164_083


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
    # expire_on_commit=False: a committed object can still be read to build the response.
    return async_sessionmaker(engine, expire_on_commit=False)


async def create_tables(engine: AsyncEngine, metadata: MetaData) -> None:
    """Create the missing tables of `metadata`. A real deployment would run migrations (Alembic) instead."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        await connection.run_sync(metadata.create_all)


@asynccontextmanager
async def open_database(database_url: str, metadata: MetaData) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """For a lifespan: the engine made, the tables of `metadata` created, a sessionmaker handed
    out; the pool closed when the block ends, however it ends."""
    engine = create_engine(database_url)
    try:
        await create_tables(engine, metadata)
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def database_unavailable(request: Request, error: Exception) -> Response:
    """The database ended the connection under a request in flight (a restart, a failover, an
    operator's `pg_terminate_backend`): a 503 to try again, not a 500 with a traceback.

    The pool replaces such connections before the next request (`pool_pre_ping`), so the retry
    succeeds (each SQL service's tests/test_faults.py). Any other database error is a bug, and
    stays a 500.
    """
    assert isinstance(error, DBAPIError)
    if not (error.connection_invalidated or isinstance(error, InterfaceError | OperationalError)):
        raise error
    return JSONResponse(
        {"detail": "The database is unavailable; try again"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


# For `errors.install`: the handler of a lost database connection.
DATABASE_LOST: Mapping[type[Exception], Handler] = {DBAPIError: database_unavailable}
