"""The pattern the gateway's lifespan pool replaces: a new `httpx.AsyncClient` for every request.

`GET /{path}` is fetched from `BENCH_UPSTREAM_URL` with a client made for it and closed after, so
each request pays for a client and a new TCP connection.
"""

import os

import httpx
from fastapi import FastAPI, Response


def create_app() -> FastAPI:
    upstream = os.environ["BENCH_UPSTREAM_URL"].rstrip("/")
    app = FastAPI()

    @app.get("/{path:path}")
    async def proxy(path: str) -> Response:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"{upstream}/{path}")
        return Response(answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type"))

    return app
