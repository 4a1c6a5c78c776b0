"""Cache-aside storage of published articles in Redis."""

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from articles.schemas import ArticleRead

logger = logging.getLogger(__name__)


class ArticleCache:
    """Published articles by id, as JSON, each expiring `ttl` seconds after it was stored.

    The cache fails open: Redis is a copy of the database, so when it does not answer, a read
    is a miss (answered from the database) and a write skips it, each with a warning; only
    speed is lost. An invalidation that fails can leave the old copy in Redis, served until its
    `ttl` runs out: the price of staying up (README, "When Redis or PostgreSQL fail").
    """

    def __init__(self, redis: Redis, *, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    @staticmethod
    def key(article_id: int) -> str:
        return f"articles:{article_id}"

    async def get(self, article_id: int) -> ArticleRead | None:
        try:
            raw = await self.redis.get(self.key(article_id))
        except (RedisError, OSError) as error:
            logger.warning("cache unavailable, reading article %d from the database: %r", article_id, error)
            return None
        return None if raw is None else ArticleRead.model_validate_json(raw)

    async def set(self, article: ArticleRead) -> None:
        try:
            await self.redis.set(self.key(article.id), article.model_dump_json(), ex=self.ttl)
        except (RedisError, OSError) as error:
            logger.warning("cache unavailable, article %d not cached: %r", article.id, error)

    async def invalidate(self, article_id: int) -> None:
        try:
            await self.redis.delete(self.key(article_id))
        except (RedisError, OSError) as error:
            logger.warning(
                "cache unavailable, article %d not invalidated (stale for up to %d s): %r", article_id, self.ttl, error
            )
