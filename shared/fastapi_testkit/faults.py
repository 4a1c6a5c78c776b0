"""Real faults for the real backend: connections killed on the server, and a TCP path a test can cut.

What a deployment meets and an embedded fake cannot show: Redis or PostgreSQL dropping a
service's connections (a restart, a failover, an idle timeout, an operator's kill), or the
network to Redis going away altogether. Each helper touches only what belongs to the test: the
Redis connections that carry a service's name (`CLIENT SETNAME`) in the test's own database
number, and the PostgreSQL sessions of the test's own database.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from fastapi_testkit.backends import _asyncpg_dsn


async def kill_redis_clients(url: str, name: str) -> int:
    """Close, on the server, every connection named `name` that uses the database of `url`.

    `CLIENT KILL ID` one by one: other test workers (and other people) share the server, so
    `CLIENT KILL USER` or a kill by address would hit them too. Returns how many were killed.
    """
    from redis.asyncio import Redis

    database = int(urlsplit(url).path.strip("/") or 0)
    admin = Redis.from_url(url)
    try:
        ids = [
            entry["id"]
            for entry in await admin.client_list()
            if entry.get("name") == name and int(entry.get("db", -1)) == database
        ]
        for client_id in ids:
            await admin.client_kill_filter(_id=client_id)
    finally:
        await admin.aclose()
    return len(ids)


async def terminate_postgres(url: str, *, spare: Iterable[int] = ()) -> int:
    """End every other session on the database of `url` (`pg_terminate_backend`) but the `spare`
    ones (process ids); how many ended.

    Each is waited for (up to 5 s): without the timeout the call returns once the signal is sent,
    and a query on the victim could still be answered.
    """
    import asyncpg

    admin = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        ended: int = await admin.fetchval(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND pid <> ALL($1::int[])) AS killed",
            list(spare),
        )
    finally:
        await admin.close()
    return ended


@asynccontextmanager
async def table_locked(url: str, table: str) -> AsyncIterator[int]:
    """Hold an exclusive lock on `table` for the block: a request that touches it waits, in flight.

    With `sessions_waiting_for_a_lock` a test knows when the request is stuck in PostgreSQL, and
    can then kill the connections under it: `terminate_postgres(url, spare=[pid])` with the pid
    this yields (the lock's own session). Spare it: were it ended first, the waiting query could
    take the lock and finish before its own end came. Leaving the block releases the lock.
    """
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        yield connection.get_server_pid()
    finally:
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await connection.close(timeout=5)


async def sessions_waiting_for_a_lock(url: str) -> int:
    """Sessions of the database of `url` waiting for a lock (requests held by `table_locked`)."""
    import asyncpg

    connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
    try:
        waiting: int = await connection.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
    finally:
        await connection.close()
    return waiting


class TcpProxy:
    """A TCP forwarder on 127.0.0.1 to `host:port`, which a test cuts and restores.

    `cut()` closes every connection through it and refuses new ones (as a network partition or
    a server that went away would look to the service); `restore()` lets them through again.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.is_cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    def url(self, url: str) -> str:
        """`url` (a redis:// or postgresql:// URL of the target) going through this proxy."""
        parts = urlsplit(url)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@127.0.0.1:{self.port}" if credentials else f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def cut(self) -> None:
        self.is_cut = True
        for writer in list(self._writers):
            writer.close()

    def restore(self) -> None:
        self.is_cut = False

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, upstream_writer}
        try:
            await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))
        finally:
            self._writers -= {writer, upstream_writer}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until either side ends; then close the far side, so the other direction ends too."""
    try:
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@asynccontextmanager
async def tcp_proxy(url: str) -> AsyncIterator[TcpProxy]:
    """A `TcpProxy` to the host and port of `url`, running in the test's event loop until the block ends."""
    parts = urlsplit(url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.aclose()
