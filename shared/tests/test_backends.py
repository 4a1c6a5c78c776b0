"""The backend fixtures and the helpers behind them."""

import socket
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from fastapi_testkit import Backend
from fastapi_testkit.backends import (
    BackendUnavailableError,
    check_postgres,
    create_database,
    drop_database,
    flush_redis,
    redact,
    redis_worker_url,
    reset_database,
    sqlite_url,
)


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_sqlite_url_points_at_a_file(tmp_path: Path) -> None:
    assert sqlite_url(tmp_path) == f"sqlite+aiosqlite:///{tmp_path}/test.db"


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("redis://h:6379/0", "master", "redis://h:6379/0"),
        ("redis://h:6379/0", "gw0", "redis://h:6379/0"),
        ("redis://h:6379/2", "gw3", "redis://h:6379/5"),
        ("redis://h:6379", "gw1", "redis://h:6379/1"),
    ],
)
def test_each_xdist_worker_gets_its_own_redis_database(url: str, worker: str, expected: str) -> None:
    assert redis_worker_url(url, worker) == expected


def test_there_are_only_sixteen_redis_databases() -> None:
    with pytest.raises(ValueError, match="database 16"):
        redis_worker_url("redis://h:6379/10", "gw6")


def test_passwords_are_redacted_from_messages() -> None:
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
    assert redact("redis://h:6379/0") == "redis://h:6379/0"


@pytest.mark.parametrize(
    ("check", "url", "fix"),
    [
        (check_postgres, "postgresql+asyncpg://postgres@127.0.0.1:{port}/test", "pg_ctlcluster"),
        (flush_redis, "redis://127.0.0.1:{port}/0", "redis-server"),
    ],
    ids=["postgres", "redis"],
)
async def test_an_unreachable_server_names_its_url_and_the_fix(
    check: Callable[[str], Awaitable[None]], url: str, fix: str
) -> None:
    url = url.format(port=closed_port())

    with pytest.raises(BackendUnavailableError) as raised:
        await check(url)

    assert url in str(raised.value)
    assert fix in str(raised.value)


@pytest.mark.db
async def test_database_url_is_an_empty_database_of_this_test(database_url: str, backend: Backend) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            if backend is Backend.EMBEDDED:
                tables = (await connection.execute(text("SELECT name FROM sqlite_master"))).all()
            else:
                tables = (
                    await connection.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
                ).all()
            assert tables == []
            # Leave a table behind: the next parametrised run proves it was cleaned away.
            await connection.execute(text("CREATE TABLE leftover (id integer)"))
    finally:
        await engine.dispose()


@pytest.mark.db
async def test_database_url_is_empty_again_for_the_next_test(database_url: str, backend: Backend) -> None:
    await test_database_url_is_an_empty_database_of_this_test(database_url, backend)


@pytest.mark.cache
async def test_redis_url_is_none_when_embedded_and_empty_when_real(redis_url: str | None, backend: Backend) -> None:
    if backend is Backend.EMBEDDED:
        assert redis_url is None
        return
    assert redis_url is not None
    client = Redis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("leftover", "1")  # the fixture's teardown flushes it
    finally:
        await client.aclose()


class AdminLog:
    """What the admin helpers did instead of talking to a server; `fail_on` makes one fail."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.fail_on: str | None = None

    async def execute(self, statement: str) -> None:
        self.statements.append(statement)
        if self.fail_on and self.fail_on in statement:
            raise RuntimeError(f"refused: {statement}")

    async def close(self) -> None:
        self.statements.append("close")


@pytest.fixture
def admin(monkeypatch: pytest.MonkeyPatch) -> AdminLog:
    """The statements, connects and closes the helpers send, without a server.

    The same helpers run against the real server under --backend real (every `database_url`
    there is made by them); this checks what they send, and that they always close.
    """
    import asyncpg

    log = AdminLog()

    async def connect(dsn: str, timeout: float) -> AdminLog:  # noqa: ASYNC109 (asyncpg.connect's signature)
        log.statements.append(f"connect {dsn}")
        return log

    monkeypatch.setattr(asyncpg, "connect", connect)
    return log


async def test_create_database_makes_a_uniquely_named_one(admin: AdminLog) -> None:
    first = await create_database("postgresql+asyncpg://u@h:5432/test")
    second = await create_database("postgresql+asyncpg://u@h:5432/test")

    name = first.rsplit("/", 1)[1]
    assert first.startswith("postgresql+asyncpg://u@h:5432/testkit_")
    assert first != second
    assert admin.statements[:3] == ["connect postgresql://u@h:5432/test", f'CREATE DATABASE "{name}"', "close"]


async def test_drop_database_ends_open_connections(admin: AdminLog) -> None:
    await drop_database("postgresql+asyncpg://u@h/test", "postgresql+asyncpg://u@h/testkit_x")

    assert admin.statements == [
        "connect postgresql://u@h/test",
        'DROP DATABASE IF EXISTS "testkit_x" WITH (FORCE)',
        "close",
    ]


async def test_reset_database_replaces_the_public_schema(admin: AdminLog) -> None:
    await reset_database("postgresql+asyncpg://u@h/testkit_x")

    assert admin.statements == [
        "connect postgresql://u@h/testkit_x",
        "SET lock_timeout = '5s'",
        "DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public",
        "close",
    ]


async def test_the_connection_is_closed_when_a_statement_fails(admin: AdminLog) -> None:
    admin.fail_on = "DROP SCHEMA"

    with pytest.raises(RuntimeError, match="refused"):
        await reset_database("postgresql+asyncpg://u@h/testkit_x")

    assert admin.statements[-1] == "close"
