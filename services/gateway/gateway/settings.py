"""Settings from environment variables prefixed `GATEWAY_`, each with an embedded default."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True)

    # One line per request on stdout; off by default, as it cost a bare endpoint a fifth of its
    # rate (README, "Serving"). A proxy in front usually logs requests already.
    access_log: bool = False

    # The upstreams, by the name that prefixes their paths: /articles/... -> articles_url/...
    # The defaults are where `hatch run serve` starts them.
    articles_url: str = "http://127.0.0.1:8001"
    events_url: str = "http://127.0.0.1:8003"
    processing_url: str = "http://127.0.0.1:8004"

    # A SQLite file next to where the gateway runs; a postgresql+asyncpg:// URL for Postgres.
    database_url: str = "sqlite+aiosqlite:///gateway.db"
    # Unset means an in-process fakeredis, so the gateway runs with no server at all.
    redis_url: str | None = None

    # The upstream HTTP pool: shared by every request, so its limits bound the whole gateway.
    max_connections: int = Field(default=100, gt=0)
    max_keepalive_connections: int = Field(default=20, ge=0)
    connect_timeout: float = Field(default=2.0, gt=0)
    # Per read, not per response: a stream that keeps sending (SSE pings) never times out.
    read_timeout: float = Field(default=30.0, gt=0)

    rate_limit: int = Field(default=100, gt=0, description="requests per client per window")
    rate_limit_window: int = Field(default=60, gt=0, description="seconds")
    max_body_bytes: int = Field(default=1_048_576, gt=0)

    def upstreams(self) -> dict[str, str]:
        return {"articles": self.articles_url, "events": self.events_url, "processing": self.processing_url}
