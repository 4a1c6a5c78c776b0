"""The app for the article's "Common Pitfalls": its lifespan opens a pool, and a route uses it.

A pool (asyncpg's, redis-py's) belongs to the event loop that opened it and fails when used from
another one; this stand-in says so plainly, so the tests can show which loop each fixture and
each test runs in. The pitfalls, and what pytest says when you fall in, are in conftest.py and
test_pitfalls.py. At depth: services/articles/tests/test_event_loops.py.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request


class Pool:
    """Stands in for a connection pool: it works only in the event loop that opened it."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def fetch(self, query: str) -> str:
        if asyncio.get_running_loop() is not self.loop:
            raise RuntimeError("this pool belongs to another event loop")
        await asyncio.sleep(0)  # a round trip to the database
        return f"result of {query}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Pool]]:
    yield {"pool": Pool()}


app = FastAPI(lifespan=lifespan)


@app.get("/api/query")
async def run_query(q: str, request: Request) -> dict[str, str]:
    return {"result": await request.state.pool.fetch(q)}
