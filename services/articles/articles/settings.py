"""Settings from environment variables prefixed `ARTICLES_`, each with an embedded default."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ARTICLES_", frozen=True)

    # One line per request on stdout; off by default, as it cost a bare endpoint a fifth of its
    # rate (README, "Serving"). A proxy in front usually logs requests already.
    access_log: bool = False

    # A SQLite file next to where the service runs; set a postgresql+asyncpg:// URL for Postgres.
    database_url: str = "sqlite+aiosqlite:///articles.db"
    # Unset means an in-process fakeredis, so the service runs with no server at all.
    redis_url: str | None = None
    # HS256 wants a key of at least 32 bytes (RFC 7518, 3.2); PyJWT warns below that.
    jwt_secret: str = Field(default="change-me-in-production-a-32-byte-key", min_length=32)
    cache_ttl: int = Field(default=60, gt=0, description="seconds a cached article lives")
