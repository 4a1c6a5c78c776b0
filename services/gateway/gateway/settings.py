"""Settings from environment variables prefixed `GATEWAY_`, each with an embedded default."""

from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# Lists are read from the environment as comma-separated values (`GATEWAY_API_KEYS=a,b`), not
# JSON: NoDecode hands the raw string to the validators below.
CommaList = Annotated[tuple[str, ...], NoDecode]


def _split(value: object) -> object:
    if isinstance(value, str):
        return tuple(item.strip() for item in value.split(",") if item.strip())
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", frozen=True)

    # The upstreams, by the name that prefixes their paths: /articles/... -> articles_url/...
    # The defaults are where `hatch run serve` starts them.
    articles_url: str = "http://127.0.0.1:8001"
    chat_url: str = "http://127.0.0.1:8002"
    events_url: str = "http://127.0.0.1:8003"
    processing_url: str = "http://127.0.0.1:8004"

    # A SQLite file next to where the gateway runs; a postgresql+asyncpg:// URL for Postgres.
    database_url: str = "sqlite+aiosqlite:///gateway.db"
    # Unset means an in-process fakeredis, so the gateway runs with no server at all.
    redis_url: str | None = None
    # The Redis pool: at most this many connections; a request waits this long for a free one,
    # then is answered 503 (docs/gateway.md, "Why the rate limit fails open", says why not open).
    redis_max_connections: int = Field(default=100, gt=0)
    redis_pool_timeout: float = Field(default=0.5, gt=0)

    # The upstream HTTP pool for plain requests: shared by every request, so its limits bound
    # the whole gateway. Streams have a pool of their own (below), so they cannot exhaust it.
    max_connections: int = Field(default=100, gt=0)
    max_keepalive_connections: int = Field(default=20, ge=0)
    connect_timeout: float = Field(default=2.0, gt=0)
    # Per read, for plain requests: an upstream silent this long is answered with 504.
    read_timeout: float = Field(default=30.0, gt=0)

    # Long-lived streams (SSE, WebSockets): how many may be open at once, per client and in
    # total (the total is also the size of the streams' own upstream pool).
    max_streams: int = Field(default=50, gt=0)
    max_streams_per_client: int = Field(default=5, gt=0)
    # Per read on a stream. Unset: none. A stream is legitimately silent for as long as nothing
    # happens (a chat room at night); the upstream sends its own keep-alives if it wants them,
    # and a client that leaves closes the upstream stream, so nothing is held for nobody.
    stream_read_timeout: float | None = Field(default=None, gt=0)
    # Routes known to stream, as `service:/path` glob patterns, besides any request that
    # accepts `text/event-stream`: they get the streams' pool and caps before connecting.
    stream_routes: CommaList = ("events:/api/topics/*/stream", "events:/api/events/*")

    rate_limit: int = Field(default=100, gt=0, description="requests per client per window")
    rate_limit_window: int = Field(default=60, gt=0, description="seconds")
    # The API keys the gateway knows; a request with one of them is limited per key, any other
    # request per address (an unknown key must not buy a fresh bucket).
    api_keys: CommaList = ()
    # Addresses (or networks) of proxies in front of the gateway, whose X-Forwarded-For is
    # believed; empty: the gateway is the edge and believes no one.
    trusted_proxies: CommaList = ()
    max_body_bytes: int = Field(default=1_048_576, gt=0)

    # The request log: a bounded queue, written to SQL by a lifespan task, as many rows per commit
    # as are waiting (at most log_batch_size).
    log_queue_size: int = Field(default=10_000, gt=0)
    log_batch_size: int = Field(default=500, gt=0)

    @field_validator("stream_routes", "api_keys", "trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            ip_network(item, strict=False)  # a ValueError names the bad entry
        return value

    def upstreams(self) -> dict[str, str]:
        return {
            "articles": self.articles_url,
            "chat": self.chat_url,
            "events": self.events_url,
            "processing": self.processing_url,
        }

    def trusted_networks(self) -> list[IPv4Network | IPv6Network]:
        return [ip_network(item, strict=False) for item in self.trusted_proxies]
