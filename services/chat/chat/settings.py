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
    # Unset: an in-memory mongomock-motor database, empty at every start. mongodb://...: that
    # server; the database is the URL's path, "chat" if it has none.
    mongo_url: str | None = None
    # HS256 wants a key of at least 32 bytes (RFC 7518, 3.2); PyJWT warns below that.
    jwt_secret: str = Field(default="change-me-in-production-a-32-byte-key", min_length=32)
    max_message_bytes: int = Field(default=4096, gt=0, description="largest text message accepted, in UTF-8 bytes")
    queue_size: int = Field(default=100, gt=0, description="messages a member may have unsent before it is dropped")
