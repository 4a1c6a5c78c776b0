"""The Redis client: a server when a URL is set, an in-process fakeredis otherwise."""

from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError


class RedisUnavailableError(RuntimeError):
    """The configured Redis did not answer when the service started."""


async def open_redis(url: str | None, *, max_connections: int, pool_timeout: float) -> Redis:
    """A client whose server has answered a PING: one that does not fails the startup, named.

    Failing here, not at the first request, is what a deployment wants: the process does not
    report itself started (and healthy) while every request that needs Redis would fail.
    `None` gives a fakeredis with a server of its own: fakeredis shares one server between
    clients with the same host and port, which would leak keys between app instances (and tests).

    The pool holds at most `max_connections`; a command waits up to `pool_timeout` seconds for a
    free one. redis-py's default pool refuses the 101st concurrent command at once; here the
    wait's end is a ConnectionError that the cache takes as a miss (answered from the database).
    """
    if url is None:
        from fakeredis import FakeServer
        from fakeredis.aioredis import FakeAsyncRedisConnection

        fake = BlockingConnectionPool(
            connection_class=FakeAsyncRedisConnection,
            server=FakeServer(),
            max_connections=max_connections,
            timeout=pool_timeout,
        )
        return Redis.from_pool(fake)  # the client owns the pool: aclose() closes it
    # Named (CLIENT SETNAME), so an operator, and the fault tests, can find this service's connections.
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=pool_timeout, client_name="articles", retry=reconnecting()
    )
    redis = Redis.from_pool(pool)
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
