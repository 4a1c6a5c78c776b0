"""The Redis client: a server when a URL is set, an in-process fakeredis otherwise."""

from redis.asyncio import Redis


async def open_redis(url: str | None) -> Redis:
    """A connected client; a server that does not answer fails the startup, not a request.

    A fakeredis with a server of its own when `url` is None: fakeredis shares one server between
    clients with the same host and port, which would leak keys between app instances.
    """
    if url is None:
        from fakeredis import FakeAsyncRedis, FakeServer

        return FakeAsyncRedis(server=FakeServer())
    redis = Redis.from_url(url)
    try:
        await redis.ping()
    except BaseException:
        await redis.aclose()
        raise
    return redis
