"""The cache's Redis client: the runtime's (`service_runtime.redis`), named `articles`.

A server when a URL is set, an in-process fakeredis otherwise. The pool holds at most
`max_connections`; a command waits up to `pool_timeout` seconds for a free one. redis-py's
default pool refuses the 101st concurrent command at once; here the wait's end is a
PoolExhaustedError (a RedisError) that the cache takes as a miss (answered from the database).
"""

from redis.asyncio import Redis

from service_runtime import redis as runtime_redis
from service_runtime.redis import RedisUnavailableError

__all__ = ["RedisUnavailableError", "open_redis"]


async def open_redis(url: str | None, *, max_connections: int, pool_timeout: float) -> Redis:
    """The cache's client; a configured server that does not answer fails the startup, named."""
    return await runtime_redis.open_redis(
        url, name="articles", max_connections=max_connections, pool_timeout=pool_timeout
    )
