"""The fault helpers: connections killed on the real servers, and a TCP path cut and restored."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from fastapi_testkit.backends import _asyncpg_dsn
from fastapi_testkit.faults import kill_redis_clients, tcp_proxy, terminate_postgres

REAL_SERVER = "kills connections on a real server"


@pytest.fixture
async def echo_url() -> AsyncIterator[str]:
    """A TCP echo server on 127.0.0.1, as a URL."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        yield f"tcp://127.0.0.1:{server.sockets[0].getsockname()[1]}"


async def _echo_through(port: int, data: bytes) -> bytes:
    """What the echo sends back through the proxy; b"" when the proxy closes (or resets) the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(1024), 5)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def test_the_proxy_forwards_until_cut_and_again_once_restored(echo_url: str) -> None:
    async with tcp_proxy(echo_url) as proxy:
        assert await _echo_through(proxy.port, b"one") == b"one"
        reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
        writer.write(b"open")
        assert await asyncio.wait_for(reader.read(1024), 5) == b"open"

        proxy.cut()
        # The open connection is closed, and a new one is closed at once (read: end of stream).
        assert await asyncio.wait_for(reader.read(1024), 5) == b""
        assert await _echo_through(proxy.port, b"two") == b""
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

        proxy.restore()
        assert await _echo_through(proxy.port, b"three") == b"three"


def test_the_proxy_url_keeps_everything_but_the_address() -> None:
    from fastapi_testkit.faults import TcpProxy

    proxy = TcpProxy("127.0.0.1", 6379)
    proxy.port = 4242
    assert proxy.url("redis://user:pw@127.0.0.1:6379/3") == "redis://user:pw@127.0.0.1:4242/3"
    assert proxy.url("redis://10.0.0.1:6379/0") == "redis://127.0.0.1:4242/0"


@pytest.mark.real_only(reason=REAL_SERVER)
async def test_only_the_named_connections_of_the_database_are_killed(redis_url: str) -> None:
    named = Redis.from_url(redis_url, client_name="victim")
    other_name = Redis.from_url(redis_url, client_name="bystander")
    try:
        await named.ping()
        await other_name.ping()
        before = await named.client_id()

        assert await kill_redis_clients(redis_url, "victim") == 1

        # redis-py 8 (from_url: no retries) fails the next command, then connects anew.
        with pytest.raises(RedisConnectionError):
            await named.client_id()
        assert await named.client_id() != before
        assert await kill_redis_clients(redis_url, "nobody") == 0
        bystander = await other_name.client_id()
        await kill_redis_clients(redis_url, "victim")
        assert await other_name.client_id() == bystander  # the same connection: not killed
    finally:
        await named.aclose()
        await other_name.aclose()


@pytest.mark.real_only(reason=REAL_SERVER)
async def test_other_postgres_sessions_of_the_database_are_ended(database_url: str) -> None:
    victim = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        assert await terminate_postgres(database_url) >= 1
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await victim.fetchval("SELECT 1")
    finally:
        await victim.close()


@pytest.mark.real_only(reason=REAL_SERVER)
async def test_a_session_blocked_by_the_lock_waits_until_it_is_terminated(database_url: str) -> None:
    from fastapi_testkit import eventually
    from fastapi_testkit.faults import sessions_waiting_for_a_lock, table_locked

    setup = await asyncpg.connect(_asyncpg_dsn(database_url))
    await setup.execute("CREATE TABLE things (id int)")
    await setup.close()
    blocked = await asyncpg.connect(_asyncpg_dsn(database_url))
    try:
        async with table_locked(database_url, "things") as holder:
            query = asyncio.create_task(blocked.fetchval("SELECT count(*) FROM things"))

            async def waiting() -> bool:
                return await sessions_waiting_for_a_lock(database_url) == 1

            await eventually(waiting)
            assert not query.done()
            assert await terminate_postgres(database_url, spare=[holder]) == 1  # the blocked one alone
        with pytest.raises((asyncpg.PostgresError, asyncpg.InterfaceError, OSError)):
            await query
    finally:
        await blocked.close()
