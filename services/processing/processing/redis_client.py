"""The startup check of processing's Redis: the runtime's `open_redis`, named `processing`.

The broker keeps connections of its own (queue.py); this client only PINGs the server, so that
a Redis that does not answer fails the startup naming the URL (redacted), as in every service.
"""

from service_runtime.redis import RedisUnavailableError, open_redis

__all__ = ["RedisUnavailableError", "check_redis"]


async def check_redis(url: str) -> None:
    """Returns once the server at `url` has answered a PING; raises RedisUnavailableError if not."""
    redis = await open_redis(url, name="processing", max_connections=1, pool_timeout=0)
    await redis.aclose()
