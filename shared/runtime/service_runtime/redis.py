"""Every service's Redis client, set up one way: checked at startup, named, bounded, retried.

`open_redis(url, name=...)` gives a client on a WaitingPool: a server's (`url`), which must
answer a PING or the startup fails naming the URL, its password redacted; or, with no URL, an
in-process fakeredis whose server is the one given (`fake`) or one of its own. Needs the
runtime's `redis` extra (redis and fakeredis).
"""

import contextlib
import functools
import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from fakeredis import FakeServer


class RedisUnavailableError(RuntimeError):
    """The configured Redis did not answer when the service started."""


class PoolExhaustedError(RedisError):
    """No pooled connection came free within the pool's wait: this service's own overload, not
    a Redis outage. Not a ConnectionError, so no Retry retries it and no handler of broken
    connections takes it for one."""


class WaitingPool(BlockingConnectionPool):
    """A bounded pool where a command waits up to `timeout` seconds for a free connection, then
    fails with PoolExhaustedError.

    redis-py's default pool refuses the command at once past `max_connections`
    (MaxConnectionsError); its BlockingConnectionPool, at the end of the wait, raises
    ConnectionError("No connection available."), the type of a broken connection, which a
    fail-open path (the gateway's rate limit) let through: 300 concurrent requests, 279 answered 200.
    """

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        try:
            connection: AbstractConnection = await super().get_connection(*args, **kwargs)  # type: ignore[no-untyped-call]
        except RedisConnectionError as error:
            # The wait's own timeout is the cause; a connection that fails to connect has none.
            if isinstance(error.__cause__, TimeoutError):
                raise PoolExhaustedError(f"no Redis connection came free in {self.timeout} s") from error
            raise
        return connection


async def open_redis(
    url: str | None,
    *,
    name: str,
    max_connections: int,
    pool_timeout: float,
    fake: "FakeServer | None" = None,
    **options: Any,
) -> Redis:
    """A client whose server has answered a PING: one that does not fails the startup, named.

    Failing here, not at the first request, is what a deployment wants: the process does not
    report itself started (and healthy) while every request that needs Redis would fail.
    `name` is the connections' CLIENT SETNAME, so an operator, and the fault tests, can find
    them. `options` go to every connection (`decode_responses`, socket timeouts, `db`...).

    `None` gives a fakeredis on `fake`, or on a server of its own: fakeredis shares one server
    between clients with the same host and port, which would leak keys between app instances
    (and tests). Either way the pool is a WaitingPool of `max_connections`, waiting
    `pool_timeout` seconds (0: no wait, a full pool refuses at once).
    """
    if url is None:
        from fakeredis import FakeServer

        pool = WaitingPool(
            connection_class=releasing_fake_connection(),
            server=fake or FakeServer(),
            max_connections=max_connections,
            timeout=pool_timeout,
            **options,
        )
        return Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
    pool = WaitingPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        client_name=name,
        retry=reconnecting(),
        **options,
    )
    redis = Redis.from_pool(pool)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        await redis.aclose()
        raise RedisUnavailableError(f"Redis at {redacted(url)} did not answer: {error}") from error
    return redis


def reconnecting() -> Retry:
    """Up to three retries of a command whose connection broke, each on a new connection.

    redis-py 8 gives a client made with `from_url` no retries: a connection the server closed
    while it sat in the pool (a restart, a failover, an idle timeout, `CLIENT KILL`) failed the
    next command, a 500 (the services' tests/test_faults.py). Connection errors only: after a
    timeout the server may have run the command, and running it again could count it twice.
    """
    return Retry(EqualJitterBackoff(cap=0.5, base=0.01), retries=3, supported_errors=(RedisConnectionError,))


# Named in-process servers (`fake_server`), alive while some client uses them.
_fake_servers: "weakref.WeakValueDictionary[str, FakeServer]" = weakref.WeakValueDictionary()


def fake_server(name: str) -> "FakeServer":
    """The in-process fakeredis server called `name`: every client of this process that names
    it shares its keys and channels, as instances share a real server."""
    from fakeredis import FakeServer

    server = _fake_servers.get(name)
    if server is None:
        server = _fake_servers[name] = FakeServer()
    return server


def redacted(url: str) -> str:
    """`url` with its password, if it has one, replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


@functools.cache
def releasing_fake_connection() -> type[Any]:
    """fakeredis' async connection, made to let go of its fake socket when redis-py drops it.

    fakeredis (2.41) registers every socket in `FakeServer.sockets` and, on an async
    disconnect, forgets it without removing it. A command cancelled while it waits (an SSE
    stream's XREAD when its client leaves) makes redis-py disconnect that connection, so each
    one left a socket (its CLIENT LIST entry, its queues) behind for good, and its server-side
    wait ran on until BLOCK ran out: about 3 MB per 300 streams (events'
    tests/test_fakeredis_leak.py). This reads fakeredis' private fields, so the `redis` extra
    caps fakeredis at the releases it was tested on (README, "Why fakeredis is capped").
    """
    from fakeredis.aioredis import FakeAsyncRedisConnection

    class ReleasingFakeConnection(FakeAsyncRedisConnection):
        # fakeredis' own signature: it forwards whatever redis-py passes, and the keyword
        # arguments differ between redis-py 5 and 8.
        async def disconnect(self, nowait: bool = False, **kwargs: Any) -> None:  # type: ignore[override]
            sock = getattr(self, "_sock", None)
            await super().disconnect(nowait=nowait, **kwargs)
            server = getattr(sock, "_server", None)
            if sock is None or server is None:
                return
            with server.lock:
                if sock._blocked:
                    # As CLIENT UNBLOCK does: end the orphaned wait now. Closing the socket
                    # instead would break the server task still running it.
                    sock._unblock_reason = b"timeout"
                    sock._db.wake_all()
                with contextlib.suppress(ValueError):  # already gone (CLIENT KILL)
                    server.sockets.remove(sock)

    return ReleasingFakeConnection
