"""The article's "Testing Lifespan with Async Dependencies", on lifespan state.

The article keeps its pools on `app.state` and its test patches `asyncpg.create_pool` with
`return_value=AsyncMock()`: a plain mock whose result cannot be awaited, and the client never
ran the lifespan anyway. Here the lifespan yields its pools (`yield {...}`, read from
`request.state`) and closes them; the test runs it with `LifespanManager`, patches the awaited
factory with `new=AsyncMock(return_value=...)` and checks that shutdown closed what startup
opened. At depth: services/gateway/tests/test_lifespan.py.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from redis.asyncio import Redis

DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@localhost/app")
REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    pool = await asyncpg.create_pool(DATABASE_URL)
    redis = Redis.from_url(REDIS_URL)
    yield {"pool": pool, "redis": redis}
    await redis.aclose()
    await pool.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/stats")
async def stats(request: Request) -> dict[str, int]:
    articles = await request.state.pool.fetchval("SELECT count(*) FROM articles")
    visits = await request.state.redis.incr("visits")
    return {"articles": articles, "visits": visits}
