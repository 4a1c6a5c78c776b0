"""The event store's Redis client: the runtime's (`service_runtime.redis`), named `events`, and
how it is configured (`redis_options`)."""

from typing import Any

from redis.asyncio import Redis

from events.settings import Settings
from service_runtime import redis as runtime_redis
from service_runtime.redis import PoolExhaustedError, RedisUnavailableError

__all__ = ["HEALTH_CHECK_INTERVAL", "PoolExhaustedError", "RedisUnavailableError", "open_redis", "redis_options"]

# Seconds a pooled connection may sit idle before redis-py PINGs it on its next use: one the
# server (or a proxy, or a NAT) dropped in between fails the PING and is replaced, instead of
# failing the request that took it.
HEALTH_CHECK_INTERVAL = 30


def redis_options(settings: Settings) -> dict[str, Any]:
    """How the Redis client is configured: what `open_redis` is given, besides the URL.

    Decoded replies: ids, names and JSON are text. `max_connections` bounds the pool, and with
    it the streams that can wait at once (settings.py). The socket timeout must outlast the
    longest XREAD BLOCK (the keep-alive interval), or an idle stream times out and ends.
    """
    options: dict[str, Any] = {"decode_responses": True, "max_connections": settings.redis_max_connections}
    if settings.redis_url is None:
        # fakeredis has no socket to time out, and its replies fail redis-py's PING health
        # check ("Bad response from PING health check"): the network options are a server's.
        return options
    return options | {
        "socket_timeout": settings.keepalive_interval + settings.redis_timeout_margin,
        "socket_connect_timeout": settings.redis_timeout_margin,
        "health_check_interval": HEALTH_CHECK_INTERVAL,
    }


async def open_redis(url: str | None, *, max_connections: int, **options: Any) -> Redis:
    """The event store's client; a configured server that does not answer fails the startup, named.

    The pool does not wait: past `max_connections` a command fails at once with
    PoolExhaustedError, which a request answers 503 and a stream ends on (errors.py), as when
    Redis is down. A waiting stream holds its connection for a whole XREAD BLOCK, so a wait
    for one would mostly run out anyway.
    """
    return await runtime_redis.open_redis(
        url, name="events", max_connections=max_connections, pool_timeout=0, **options
    )
