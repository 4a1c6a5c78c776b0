"""What more than one test module of the gateway suite needs: fake upstreams and failing transports."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse


def fake_upstream(name: str) -> FastAPI:
    """An upstream that answers /health and echoes every other request back as JSON."""
    app = FastAPI()

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/articles/")
    async def articles() -> list[dict[str, Any]]:
        return [{"id": 1, "title": "Latest"}]

    @app.get("/api/stats")
    async def stats() -> dict[str, int]:
        return {"pending": 1, "processing": 0, "processed": 2, "failed": 0}

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> Response:
        body = await request.body()
        status = int(request.query_params.get("status", 200))
        echoed = {
            "upstream": name,
            "method": request.method,
            "path": request.url.path,
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(),
        }
        headers = {"x-upstream": name} | ({"www-authenticate": "Bearer"} if status == 401 else {})
        return JSONResponse(echoed, status_code=status, headers=headers)

    return app


def failing(error: Exception) -> httpx.MockTransport:
    """A transport whose every request fails with `error` (a refused connection, a timeout)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


async def chunks(items: list[bytes]) -> AsyncIterator[bytes]:
    """A request body sent in chunks, with no Content-Length."""
    for item in items:
        yield item
