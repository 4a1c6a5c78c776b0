"""A fixed-window rate limit per client, counted in Redis."""

import logging
import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.redis_client import PoolExhaustedError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window resets; 0 when allowed


class RateLimiter:
    """At most `limit` requests per client in each `window`-second window.

    Redis holds one counter per client and window, which expires with the window; every gateway
    instance sharing the Redis shares the limit.

    It fails open: when Redis does not answer, the request is let through, with a warning. The
    limit protects the upstreams from a client that asks too much; refusing every client because
    the counters are out of reach would turn a Redis outage into a full one (Envoy's rate limit
    filter makes the same choice by default). docs/gateway.md, "Why the rate limit fails open".

    A full pool is not an outage: every connection is busy with this gateway's own requests, so
    letting the excess through would open the limit exactly when a client sends the most.
    PoolExhaustedError is raised to the caller, which answers 503 with Retry-After.
    """

    def __init__(self, redis: Redis, *, limit: int, window: int) -> None:
        self.redis, self.limit, self.window = redis, limit, window

    async def hit(self, client: str, now: float | None = None) -> Verdict:
        now = time.time() if now is None else now
        window_start = int(now // self.window) * self.window
        key = f"ratelimit:{client}:{window_start}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window)
                count, _ = await pipe.execute()
        except PoolExhaustedError:
            raise
        except (RedisError, OSError) as error:
            logger.warning("rate limit unavailable, letting %s through: %r", client, error)
            return Verdict(allowed=True, retry_after=0)
        if count <= self.limit:
            return Verdict(allowed=True, retry_after=0)
        return Verdict(allowed=False, retry_after=max(1, math.ceil(window_start + self.window - now)))
