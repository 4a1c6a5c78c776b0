"""Cache-aside storage of published articles in Redis."""

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class ArticleCache:
    """Published articles by id, as the JSON bytes a read answers with, each expiring `ttl`
    seconds after it was stored.

    Bytes, not models: a hit is served exactly as stored, with no parse and no second
    serialisation (parsing into `ArticleRead` and serialising again is a third of a hit's cost;
    docs/articles.md, "What a cache hit costs"). The route writes what it would have answered, so
    a hit and a miss send the same bytes.

    The cache fails open: Redis is a copy of the database, so when it does not answer, a read
    is a miss (answered from the database) and a write skips it, each with a warning; only
    speed is lost. An invalidation that fails can leave the old copy in Redis, served until its
    `ttl` runs out: the price of staying up (docs/articles.md, "When Redis or PostgreSQL fail").
    """

    def __init__(self, redis: Redis, *, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    @staticmethod
    def key(article_id: int) -> str:
        return f"articles:{article_id}"

    async def get(self, article_id: int) -> bytes | None:
        try:
            raw: bytes | str | None = await self.redis.get(self.key(article_id))
        except (RedisError, OSError) as error:
            logger.warning("cache unavailable, reading article %d from the database: %r", article_id, error)
            return None
        # open_redis never sets decode_responses, but a client that does would hand back str.
        return raw.encode() if isinstance(raw, str) else raw

    async def set(self, article_id: int, body: bytes) -> None:
        try:
            await self.redis.set(self.key(article_id), body, ex=self.ttl)
        except (RedisError, OSError) as error:
            logger.warning("cache unavailable, article %d not cached: %r", article_id, error)

    async def invalidate(self, article_id: int) -> None:
        try:
            await self.redis.delete(self.key(article_id))
        except (RedisError, OSError) as error:
            logger.warning(
                "cache unavailable, article %d not invalidated (stale for up to %d s): %r", article_id, self.ttl, error
            )
