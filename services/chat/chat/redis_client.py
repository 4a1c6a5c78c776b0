"""The Redis client: a server, or a named in-process fakeredis (`fakeredis://<name>[/<db>]`)."""

import weakref
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError

if TYPE_CHECKING:
    from fakeredis import FakeServer


class RedisUnavailableError(RuntimeError):
    """The configured Redis did not answer when the service started."""


# fakeredis:// servers by name, alive while some client uses them.
_fake_servers: "weakref.WeakValueDictionary[str, FakeServer]" = weakref.WeakValueDictionary()


async def open_redis(url: str, **options: Any) -> Redis:
    """A client whose server has answered a PING: one that does not fails the startup, named.

    Failing here, not at the first message, is what a deployment wants: the process does not
    report itself started (and healthy) while every room would be silent. Unlike the other
    services, no URL means no Redis at all (rooms in this process, app.py); `fakeredis://<name>`
    is the Redis path on an in-process fake, shared by every app of this process that names the
    same server, as two instances share a real one: that is how tests run two instances on one
    Redis without a server.
    """
    parts = urlsplit(url)
    if parts.scheme == "fakeredis":
        from fakeredis import FakeAsyncRedis, FakeServer

        server = _fake_servers.get(parts.netloc)
        if server is None:
            server = _fake_servers[parts.netloc] = FakeServer()
        return FakeAsyncRedis(server=server, db=int(parts.path.strip("/") or 0), **options)
    # Named (CLIENT SETNAME), so an operator, and the fault tests, can find this service's connections.
    redis = Redis.from_url(url, client_name="chat", **options)
    try:
        await redis.ping()
    except (RedisError, OSError) as error:
        await redis.aclose()
        raise RedisUnavailableError(f"Redis at {_redacted(url)} did not answer: {error}") from error
    return redis


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
