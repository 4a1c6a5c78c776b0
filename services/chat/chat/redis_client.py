"""The Redis client: a server, or a named in-process fakeredis (`fakeredis://<name>[/<db>]`)."""

import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from fakeredis import FakeServer


class RedisUnavailableError(RuntimeError):
    """The configured Redis did not answer when the service started."""


# fakeredis:// servers by name, alive while some client uses them.
_fake_servers: "weakref.WeakValueDictionary[str, FakeServer]" = weakref.WeakValueDictionary()


async def open_redis(
    url: str, *, max_connections: int | None = None, pool_timeout: float = 10.0, **options: Any
) -> Redis:
    """A client whose server has answered a PING: one that does not fails the startup, named.

    Failing here, not at the first message, is what a deployment wants: the process does not
    report itself started (and healthy) while every room would be silent. Unlike the other
    services, no URL means no Redis at all (rooms in this process, app.py); `fakeredis://<name>`
    is the Redis path on an in-process fake, shared by every app of this process that names the
    same server, as two instances share a real one: that is how tests run two instances on one
    Redis without a server.

    `max_connections`: a pool of at most that many connections, where a command waits for a free
    one (`pool_timeout` seconds at most, then redis-py's ConnectionError) instead of failing at
    once. redis-py 8's default pool refuses the 101st concurrent command ("Too many connections"):
    a room of 120 members speaking at once closed 20 of them with 1011 on a real Redis
    (tests/test_limits.py).
    """
    parts = urlsplit(url)
    if parts.scheme == "fakeredis":
        from fakeredis import FakeAsyncRedis, FakeServer

        server = _fake_servers.get(parts.netloc)
        if server is None:
            server = _fake_servers[parts.netloc] = FakeServer()
        return FakeAsyncRedis(server=server, db=int(parts.path.strip("/") or 0), **options)
    # Named (CLIENT SETNAME), so an operator, and the fault tests, can find this service's connections.
    if max_connections is None:
        redis = Redis.from_url(url, client_name="chat", retry=reconnecting(), **options)
    else:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=pool_timeout,
            client_name="chat",
            retry=reconnecting(),
            **options,
        )
        redis = Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        await redis.aclose()
        raise RedisUnavailableError(f"Redis at {_redacted(url)} did not answer: {error}") from error
    return redis


def reconnecting() -> Retry:
    """Up to three retries of a command whose connection broke, each on a new connection.

    redis-py 8 gives a client made with `from_url` no retries: a connection the server closed
    while it sat in the pool (a restart, a failover, an idle timeout, `CLIENT KILL`) failed the
    next command, a 500 (tests/test_faults.py). Connection errors only: after a timeout the
    server may have run the command, and running it again could count it twice.
    """
    return Retry(EqualJitterBackoff(cap=0.5, base=0.01), retries=3, supported_errors=(RedisConnectionError,))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
