"""A minimal proxy per HTTP client: `GET /{path}` fetched from `BENCH_UPSTREAM_URL` with one
lifespan-owned client of `BENCH_PROXY_CLIENT` (httpx, httpx2 or aiohttp), the body read whole and
returned with the upstream's status and content type. No rate limit, no log, no header policy:
what a proxy costs on this client and nothing else (bench/clients.py compares them).
"""

import importlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response

Fetch = Callable[[str], Awaitable[tuple[int, bytes, str | None]]]
CONNECTIONS = 100  # above the load's 50 connections: no request waits for the pool


@asynccontextmanager
async def _httpx_like(module_name: str) -> AsyncIterator[Fetch]:
    """httpx, or httpx2 (its successor, the same API under another name)."""
    module: Any = importlib.import_module(module_name)
    limits = module.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    async with module.AsyncClient(limits=limits) as client:

        async def fetch(url: str) -> tuple[int, bytes, str | None]:
            answer = await client.get(url)
            return answer.status_code, answer.content, answer.headers.get("content-type")

        yield fetch


@asynccontextmanager
async def _aiohttp() -> AsyncIterator[Fetch]:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=CONNECTIONS)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch(url: str) -> tuple[int, bytes, str | None]:
            async with session.get(url) as answer:
                return answer.status, await answer.read(), answer.headers.get("content-type")

        yield fetch


def create_app() -> FastAPI:
    upstream = os.environ["BENCH_UPSTREAM_URL"].rstrip("/")
    name = os.environ.get("BENCH_PROXY_CLIENT", "httpx")
    clients = {"httpx": lambda: _httpx_like("httpx"), "httpx2": lambda: _httpx_like("httpx2"), "aiohttp": _aiohttp}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Fetch]]:
        async with clients[name]() as fetch:
            yield {"fetch": fetch}

    app = FastAPI(lifespan=lifespan)

    @app.get("/{path:path}")
    async def proxy(path: str, request: Request) -> Response:
        status, body, content_type = await request.state.fetch(f"{upstream}/{path}")
        return Response(body, status_code=status, media_type=content_type)

    return app
