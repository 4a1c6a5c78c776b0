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
    # The Redis pool's size. Each topic with open streams holds one connection for its reader's
    # XREAD BLOCK (hub.py), so this bounds the topics one instance reads at once, plus publishes
    # and replays in flight; past it a request gets a 503. redis-py 8 caps an asyncio pool at
    # 100 connections unless told otherwise.
    redis_max_connections: int = Field(default=2000, gt=0)
    # Events queued for one stream whose client reads slower than they come. Past it that stream
    # is dropped: it sends what it holds and ends, and its client resumes with Last-Event-ID, so
    # one slow reader neither holds the others back nor makes the process hold its backlog.
    subscriber_buffer: int = Field(default=256, gt=0)
    # Reads that new streams may make to Redis at once (where the topic ends; a replay of what a
    # resuming stream missed): a burst of new or reconnecting clients takes turns rather than
    # opening a connection each. With one reader per topic, the Redis connections are then at
    # most the topics read plus these (plus a publish in flight).
    replay_slots: int = Field(default=4, gt=0)
    # Seconds a Redis reply may come later than due before the server counts as gone (a
    # ConnectionError: a stream ends cleanly, a request gets a 503). A blocked XREAD's reply is
    # due after `keepalive_interval`, so the socket timeout is that plus this margin; connecting
    # gets the margin alone. redis-py 8's own default, a fixed 5 s, would cut every idle stream whose
    # XREAD BLOCK is longer (the default keep-alive is 10 s).
    redis_timeout_margin: float = Field(default=5.0, gt=0)
