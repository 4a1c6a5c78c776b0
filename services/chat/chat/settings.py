"""Settings from environment variables prefixed `CHAT_`, each with an embedded default."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAT_", frozen=True)

    # FastAPI counts the bytes it reads, Content-Length or not: a larger body is a 413 before it is parsed.
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="largest request body, in bytes")

    # Unset: rooms live in this process. redis://...: every message goes through Redis pub/sub,
    # so the instances sharing that server share rooms. fakeredis://<name>: the same code path on
    # an in-process fake Redis, shared by the apps of this process that give the same name.
    redis_url: str | None = None
    # Connections to that Redis at most: each publish takes one for a moment, and a publish that
    # finds them all busy waits for one (redis_client.py), however many members speak at once,
    # `redis_pool_timeout` seconds at most.
    redis_max_connections: int = Field(default=50, gt=0)
    redis_pool_timeout: float = Field(
        default=10.0, gt=0, description="seconds a Redis command waits for a free connection in the pool"
    )
    # Unset: an in-memory mongomock-motor database, empty at every start. mongodb://...: that
    # server; the database is the URL's path, "chat" if it has none.
    mongo_url: str | None = None
    # Messages wait here between their delivery and their insert (history_writer.py). Past it, the
    # oldest waiting one is dropped unstored: delivery never waits on MongoDB. At most about
    # history_queue_size * max_message_bytes of memory (40 MiB on the defaults).
    history_queue_size: int = Field(
        default=10_000, gt=0, description="messages that may wait to be stored before the oldest is dropped"
    )
    # On shutdown the writer stores what is waiting, this long at most: a hung MongoDB must not
    # hang the shutdown.
    history_flush_timeout: float = Field(
        default=10.0, gt=0, description="seconds the shutdown may take to store the waiting messages"
    )
    # HS256 wants a key of at least 32 bytes (RFC 7518, 3.2); PyJWT warns below that.
    jwt_secret: str = Field(default="change-me-in-production-a-32-byte-key", min_length=32)
    # An issuer's clock a little ahead or behind this one: a token is accepted that many seconds
    # before its `iat`/`nbf` and after its `exp`.
    jwt_leeway: float = Field(default=10.0, ge=0, description="seconds of clock skew forgiven on a token's times")
    max_message_bytes: int = Field(default=4096, gt=0, description="largest text message accepted, in UTF-8 bytes")
    # A member is dropped (1008) for being slow when one send to it has not completed within
    # `send_timeout` seconds (it stopped reading), or at once when its unsent messages pass either
    # hard cap. The caps bound memory, not speed: a room of N members speaking at once queues N
    # messages for each member before any writer runs, so they sit far above any room's burst.
    send_timeout: float = Field(
        default=10.0, gt=0, description="seconds one send may take before the member is dropped"
    )
    queue_size: int = Field(default=5000, gt=0, description="messages a member may have unsent before it is dropped")
    queue_bytes: int = Field(
        default=8 * 1024 * 1024, gt=0, description="UTF-8 bytes a member may have unsent before it is dropped"
    )
    # Each connection's token bucket: past it, the server stops reading that socket until a token
    # is due, and TCP flow control slows the client (throttle.py says why not a close).
    send_rate: float = Field(default=10.0, gt=0, description="messages per second one connection may send")
    send_burst: int = Field(default=20, gt=0, description="messages one connection may send at once")
