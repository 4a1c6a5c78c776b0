"""A fixed-window rate limit per client, counted in Redis."""

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets; 0 when allowed


class RateLimiter:
    """At most `limit` requests per client in each `window`-second window.

    Redis holds one counter per client and window, which expires with the window; every gateway
    instance sharing the Redis shares the limit.
    """

    def __init__(self, redis: Redis, *, limit: int, window: int) -> None:
        self.redis, self.limit, self.window = redis, limit, window

    async def hit(self, client: str, now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        window_start = int(now // self.window) * self.window
        key = f"ratelimit:{client}:{window_start}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window)
            count, _ = await pipe.execute()
        if count <= self.limit:
            return Verdict(allowed=True, retry_after=0)
        return Verdict(allowed=False, retry_after=max(1, math.ceil(window_start + self.window - now)))
