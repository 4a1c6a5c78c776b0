"""Settings from environment variables prefixed `ARTICLES_`, each with an embedded default."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARTICLES_", frozen=True)

    # FastAPI counts the bytes it reads, Content-Length or not: a larger body is a 413 before it is parsed.
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="largest request body, in bytes")

    # A SQLite file next to where the service runs; set a postgresql+asyncpg:// URL for Postgres.
    database_url: str = "sqlite+aiosqlite:///articles.db"
    # Unset means an in-process fakeredis, so the service runs with no server at all.
    redis_url: str | None = None
    # The cache's pool: at most this many connections, and seconds a read waits for a free one
    # before it is a miss, answered from the database (the cache fails open).
    redis_max_connections: int = Field(default=100, gt=0)
    redis_pool_timeout: float = Field(default=0.5, gt=0)
    # HS256 wants a key of at least 32 bytes (RFC 7518, 3.2); PyJWT warns below that.
    jwt_secret: str = Field(default="change-me-in-production-a-32-byte-key", min_length=32)
    # An issuer's clock a little ahead or behind this one: a token is accepted that many seconds
    # before its `iat`/`nbf` and after its `exp`.
    jwt_leeway: float = Field(default=10.0, ge=0, description="seconds of clock skew forgiven on a token's times")
    cache_ttl: int = Field(default=60, gt=0, description="seconds a cached article lives")
