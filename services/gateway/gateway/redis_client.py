"""The rate limit's Redis client: the runtime's (`service_runtime.redis`), named `gateway`.

A server when a URL is set, an in-process fakeredis otherwise, on a pool of `max_connections`
where a command waits `pool_timeout` seconds for a free one, then fails with PoolExhaustedError:
the rate limit answers that 503 (ratelimit.py), not the fail-open of a Redis outage.
"""

from redis.asyncio import Redis

from service_runtime import redis as runtime_redis
from service_runtime.redis import PoolExhaustedError, RedisUnavailableError

__all__ = ["PoolExhaustedError", "RedisUnavailableError", "open_redis"]


async def open_redis(url: str | None, *, max_connections: int, pool_timeout: float) -> Redis:
    """The rate limit's client; a configured server that does not answer fails the startup, named."""
    return await runtime_redis.open_redis(
        url, name="gateway", max_connections=max_connections, pool_timeout=pool_timeout
    )
