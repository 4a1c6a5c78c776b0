"""Cache-aside storage of published articles in Redis."""

from redis.asyncio import Redis

from articles.schemas import ArticleRead


class ArticleCache:
    """Published articles by id, as JSON, each expiring `ttl` seconds after it was stored."""

    def __init__(self, redis: Redis, *, ttl: int) -> None:
        self.redis = redis
        self.ttl = ttl

    @staticmethod
    def key(article_id: int) -> str:
        return f"articles:{article_id}"

    async def get(self, article_id: int) -> ArticleRead | None:
        raw = await self.redis.get(self.key(article_id))
        return None if raw is None else ArticleRead.model_validate_json(raw)

    async def set(self, article: ArticleRead) -> None:
        await self.redis.set(self.key(article.id), article.model_dump_json(), ex=self.ttl)

    async def invalidate(self, article_id: int) -> None:
        await self.redis.delete(self.key(article_id))
