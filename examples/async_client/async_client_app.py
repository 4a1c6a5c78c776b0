"""The article's "Basic Async TestClient", on httpx 0.28 and later.

The article: `AsyncClient(app=app, base_url="http://test")`. httpx 0.28 removed `app=`:
`AsyncClient(transport=ASGITransport(app=app), ...)`. ASGITransport never runs the lifespan,
so what the lifespan yields (`request.state.articles` here) is missing; the test runs it with
asgi-lifespan's `LifespanManager` and hands `manager.app` to the transport.
At depth: services/articles/tests/test_health.py.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI, Request


class State(TypedDict):
    articles: list[dict[str, str]]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[State]:
    yield {"articles": [{"title": "Hello, async"}]}


app = FastAPI(lifespan=lifespan)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/api/articles/")
async def list_articles(request: Request) -> list[dict[str, str]]:
    articles: list[dict[str, str]] = request.state.articles
    return articles
