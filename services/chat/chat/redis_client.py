"""The fan-out's Redis client: the runtime's (`service_runtime.redis`), named `chat`.

A server (`redis://...`), or `fakeredis://<name>[/<db>]`: the Redis path on an in-process fake,
shared by every app of this process that names the same server, as two instances share a real
one; that is how tests run two instances on one Redis without a server. Unlike the other
services, no URL means no Redis at all (rooms in this process, app.py).
"""

from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis

from service_runtime import redis as runtime_redis
from service_runtime.redis import RedisUnavailableError

__all__ = ["RedisUnavailableError", "open_redis"]


async def open_redis(url: str, *, max_connections: int = 50, pool_timeout: float = 10.0, **options: Any) -> Redis:
    """The fan-out's client; a configured server that does not answer fails the startup, named.

    The pool holds `max_connections`, and a command waits for a free one (`pool_timeout` seconds
    at most) instead of failing at once: redis-py 8's default pool refuses the 101st concurrent
    command ("Too many connections"), and a room of 120 members speaking at once closed 20 of
    them with 1011 on a real Redis (tests/test_limits.py).
    """
    server_url: str | None = url
    parts = urlsplit(url)
    if parts.scheme == "fakeredis":
        # A named server, shared; the path is the database, as in a redis:// URL.
        options |= {"fake": runtime_redis.fake_server(parts.netloc), "db": int(parts.path.strip("/") or 0)}
        server_url = None
    return await runtime_redis.open_redis(
        server_url, name="chat", max_connections=max_connections, pool_timeout=pool_timeout, **options
    )
