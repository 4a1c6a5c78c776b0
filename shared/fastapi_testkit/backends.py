"""Isolated SQL, Redis and MongoDB backends per test: embedded by default, real servers when asked."""

import enum
import os
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

DEFAULT_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

POSTGRES_HELP = (
    "Start PostgreSQL (on Debian: pg_ctlcluster $(ls /etc/postgresql) main start), "
    "or point TESTKIT_POSTGRES_URL / --postgres-url at a running server."
)
REDIS_HELP = (
    "Start Redis (redis-server --daemonize yes --port 6379), "
    "or point TESTKIT_REDIS_URL / --redis-url at a running server."
)
MONGO_HELP = (
    "Start MongoDB (mongod --dbpath <folder> --port 27017), or point TESTKIT_MONGO_URL / --mongo-url at a "
    "running server, or leave the URL unset for the embedded mongomock."
)


class Backend(enum.StrEnum):
    """Where a test's SQL database and Redis live."""

    EMBEDDED = "embedded"  # a temp-file SQLite database, fakeredis; no server needed
    REAL = "real"  # PostgreSQL and Redis servers


class BackendUnavailableError(Exception):
    """A real backend was asked for and its server did not answer."""

    def __init__(self, what: str, url: str, error: BaseException, help_text: str) -> None:
        super().__init__(f"{what} at {redact(url)} did not answer ({error!r}). {help_text}")


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def sqlite_url(directory: Path) -> str:
    """A SQLite file database in `directory`, for aiosqlite.

    A file, not `sqlite://` in memory: in-memory SQLite needs StaticPool (one shared
    connection), and concurrent sessions on one connection lose data silently.
    """
    return f"sqlite+aiosqlite:///{directory / 'test.db'}"


def _asyncpg_dsn(url: str) -> str:
    """asyncpg takes plain `postgresql://`, SQLAlchemy's URL names the driver too."""
    return re.sub(r"^postgresql\+asyncpg://", "postgresql://", url)


async def check_postgres(url: str) -> None:
    import asyncpg

    try:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise BackendUnavailableError("PostgreSQL", url, error, POSTGRES_HELP) from error
    await connection.close()


async def create_database(admin_url: str) -> str:
    """Create an empty database with a unique name on the server of `admin_url`; return its URL."""
    import asyncpg

    name = f"testkit_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=5)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def drop_database(admin_url: str, url: str) -> None:
    """Drop the database of `url` through `admin_url`, ending connections still open to it."""
    import asyncpg

    name = urlsplit(url).path.strip("/")
    admin = await asyncpg.connect(_asyncpg_dsn(admin_url), timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def reset_database(url: str) -> None:
    """Empty the database of `url`: a new `public` schema, so no table or sequence is left.

    Much cheaper than a database per test (CREATE DATABASE costs about 350 ms here, this
    about 20 ms); each pytest-xdist worker has a database of its own, so workers never meet.
    """
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        # A connection an earlier test leaked could hold a lock; fail instead of waiting forever.
        await connection.execute("SET lock_timeout = '5s'")
        await connection.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


def redis_worker_url(url: str, worker: str) -> str:
    """`url` with its database number moved by the xdist worker's index (gw3 -> +3).

    Each worker flushes its own database around every test, so parallel workers never see
    each other's keys.
    """
    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    index = int(worker[2:]) if worker.startswith("gw") else 0
    if base + index > 15:
        raise ValueError(f"Redis has 16 databases; {worker} would need database {base + index}")
    return urlunsplit(parts._replace(path=f"/{base + index}"))


async def flush_redis(url: str) -> None:
    """Empty the Redis database of `url`."""
    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    client = Redis.from_url(url, socket_connect_timeout=5)
    try:
        await client.flushdb()
    except (RedisConnectionError, OSError) as error:
        raise BackendUnavailableError("Redis", url, error, REDIS_HELP) from error
    finally:
        await client.aclose()


def mongo_worker_url(url: str, worker: str) -> str:
    """`url` naming a database of the xdist worker's own (`testkit_gw0`, `testkit_master`).

    A MongoDB URL's path is also the database its credentials are checked against when it has
    no `authSource`; when the path is replaced, that database is kept as the `authSource`.
    """
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if parts.username is not None and "authSource" not in query:
        query["authSource"] = parts.path.strip("/") or "admin"
    return urlunsplit(parts._replace(path=f"/testkit_{worker}", query=urlencode(query)))


async def drop_mongo_database(url: str, *, timeout: float = 5) -> None:  # noqa: ASYNC109 (a driver setting, not a wait)
    """Drop the database `url` names (MongoDB creates it again on the first write).

    Uses PyMongo's async API (motor, which services may use, is deprecated in its favour).
    """
    from pymongo import AsyncMongoClient
    from pymongo.errors import ConnectionFailure

    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url, serverSelectionTimeoutMS=int(timeout * 1000))
    try:
        await client.drop_database(client.get_default_database())
    except ConnectionFailure as error:
        raise BackendUnavailableError("MongoDB", url, error, MONGO_HELP) from error
    finally:
        await client.close()


def env_or(name: str, default: str) -> str:
    return os.environ.get(name) or default
