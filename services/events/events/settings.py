"""Settings from environment variables prefixed `EVENTS_`, each with an embedded default."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTS_", frozen=True)

    # FastAPI counts the bytes it reads, Content-Length or not: a larger body is a 413 before it is parsed.
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="largest request body, in bytes")

    # Unset means an in-process fakeredis, so the service runs with no server at all.
    redis_url: str | None = None
    # Each topic's stream keeps this many events (XADD MAXLEN): what a reconnecting client can replay.
    stream_max_length: int = Field(default=1000, gt=0)
    # Seconds an idle stream waits before sending a keep-alive comment (and the longest a
    # blocked XREAD lasts). At least a millisecond: Redis reads BLOCK 0 as "forever". Below
    # FastAPI's own fixed 15 s ping, so that an idle stream sends ours only.
    keepalive_interval: float = Field(default=10.0, ge=0.001)
    # Every open stream holds a Redis connection while it waits (XREAD BLOCK), so this bounds
    # the streams one instance can serve; past it a new stream is refused with a 503. redis-py 8
    # caps an asyncio pool at 100 connections unless told otherwise, which would refuse the
    # 101st subscriber.
    redis_max_connections: int = Field(default=2000, gt=0)
