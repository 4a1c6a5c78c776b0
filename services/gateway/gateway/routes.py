"""The gateway's own routes, and the proxy to the upstreams."""

import asyncio
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.responses import JSONResponse, StreamingResponse

from gateway.dependencies import HttpClient, RateLimited, Sessionmaker, SettingsDep
from gateway.proxy import checked_path, forward, read_body
from gateway.storage import stats_per_service

router = APIRouter()

DASHBOARD_TIMEOUT = 5.0


async def _fetch_part(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """One part of the dashboard: the upstream's JSON, or why it is missing."""
    try:
        response = await client.get(url, timeout=DASHBOARD_TIMEOUT)
        response.raise_for_status()
        return {"ok": True, "data": response.json()}
    except (httpx.HTTPError, ValueError) as error:
        return {"ok": False, "error": f"{type(error).__name__}: {error}"}


@router.get("/api/dashboard", dependencies=[RateLimited])
async def dashboard(client: HttpClient, settings: SettingsDep) -> dict[str, Any]:
    """The latest articles and the processing counts, fetched at the same time; a part whose
    upstream fails says so, and the other part is still returned."""
    articles, processing = await asyncio.gather(
        _fetch_part(client, f"{settings.articles_url.rstrip('/')}/api/articles/?limit=5"),
        _fetch_part(client, f"{settings.processing_url.rstrip('/')}/api/stats"),
    )
    return {"articles": articles, "processing": processing}


@router.get("/api/stats", dependencies=[RateLimited])
async def stats(sessionmaker: Sessionmaker) -> dict[str, dict[str, float]]:
    """Proxied requests per service: count and latency percentiles in milliseconds."""
    async with sessionmaker() as session:
        return await stats_per_service(session)


ServiceName = Annotated[str, Path(max_length=32)]


@router.api_route(
    "/{service}/{path:path}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
    dependencies=[RateLimited],
    response_model=None,
)
async def proxy(
    service: ServiceName,
    path: str,
    request: Request,
    client: HttpClient,
    sessionmaker: Sessionmaker,
    settings: SettingsDep,
) -> StreamingResponse | JSONResponse:
    """`/articles/api/articles/` reaches the articles service's `/api/articles/`."""
    base_url = settings.upstreams().get(service)
    if base_url is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Unknown service {service!r}")
    body = await read_body(request, settings.max_body_bytes)
    return await forward(
        request,
        client=client,
        sessionmaker=sessionmaker,
        service=service,
        base_url=base_url,
        path=checked_path(path),
        body=body,
    )
