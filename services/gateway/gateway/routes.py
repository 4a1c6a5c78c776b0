"""The gateway's own routes, and the proxy to the upstreams."""

import asyncio
from functools import partial
from importlib import resources
from typing import Annotated, Any
from urllib.parse import unquote

import httpx
from fastapi import APIRouter, HTTPException, Path, Request, WebSocket, status
from fastapi.responses import HTMLResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gateway.dependencies import (
    HttpClient,
    RateLimited,
    Sessionmaker,
    SettingsDep,
    StreamClient,
    Telemetry,
    enforce_rate_limit,
    identity,
    stream_slots,
)
from gateway.proxy import forward, read_body, upstream_path
from gateway.settings import Settings
from gateway.storage import stats_per_service
from gateway.streams import TooManyStreamsError, is_stream
from gateway.websocket_proxy import POLICY_VIOLATION, TRY_AGAIN_LATER, proxy_websocket
from service_runtime.refusals import refuse

router = APIRouter()

DASHBOARD_TIMEOUT = 5.0

# The demo page (docs/gateway.md, "The demo page"): one static file, read once, with no template.
DEMO_PAGE = resources.files("gateway").joinpath("static/index.html").read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
async def demo_page() -> HTMLResponse:
    """Latest articles, a chat room, the live event stream and processing, each through this gateway."""
    return HTMLResponse(DEMO_PAGE)


@router.get("/favicon.ico", include_in_schema=False, status_code=status.HTTP_204_NO_CONTENT)
async def favicon() -> Response:
    """No icon, said at once: a browser asks on every page load, and the proxy's route took the
    name for a service (a redirect to `/favicon.ico/`, then a 404 naming no service). A 204, not a
    404: a browser shows it as no icon without an error in its console; cached for a day."""
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={"Cache-Control": "max-age=86400"})


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


@router.get("/metrics", response_class=Response, responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}})
async def metrics(telemetry: Telemetry) -> Response:
    """Prometheus metrics: proxied requests and their latency, per service and status."""
    return Response(generate_latest(telemetry[0].registry), media_type=CONTENT_TYPE_LATEST)


ServiceName = Annotated[str, Path(max_length=32)]

PROXIED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

# What the gateway itself may answer on a proxied path, besides whatever the upstream answers.
PROXY_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "The path climbs out of its service (`..`) or holds a control character"},
    404: {"description": "Unknown service"},
    413: {"description": "Request body over GATEWAY_MAX_BODY_BYTES"},
    429: {"description": "Over the client's rate limit, or its cap of open streams (with Retry-After)"},
    502: {"description": "The upstream refused the connection"},
    503: {
        "description": "The gateway's total cap of open streams is reached, or every Redis connection "
        "stayed busy past GATEWAY_REDIS_POOL_TIMEOUT (with Retry-After)"
    },
    504: {"description": "The upstream did not answer in time"},
}


async def proxy(
    service: ServiceName,
    # Declared for the document (schemathesis refused one whose path names an undeclared
    # parameter); what is forwarded is the raw path, percent-encoding kept (upstream_path).
    path: Annotated[str, Path(description="the upstream path, forwarded exactly as received")],
    request: Request,
    client: HttpClient,
    stream_client: StreamClient,
    telemetry: Telemetry,
    settings: SettingsDep,
) -> Response:
    """`/articles/api/articles/` reaches the articles service's `/api/articles/`."""
    base_url = settings.upstreams().get(service)
    if base_url is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Unknown service {service!r}")
    path = upstream_path(request)  # not the decoded parameter: %3F, %23 and %2F must reach the upstream
    body = await read_body(request, settings.max_body_bytes)
    on_close = None
    if is_stream(request.headers.get("accept"), service, f"/{unquote(path)}", settings.stream_routes):
        # A stream: its own pool, and a slot under the caps taken now, before it connects.
        slots, who = stream_slots(request), identity(request)
        try:
            slots.acquire(who)
        except TooManyStreamsError as refused:
            raise refused.as_http() from None
        client, on_close = stream_client, partial(slots.release, who)
    return await forward(
        request,
        client=client,
        telemetry=telemetry,
        service=service,
        base_url=base_url,
        path=path,
        body=body,
        on_close=on_close,
    )


@router.websocket("/{service}/{path:path}")
async def proxy_ws(websocket: WebSocket, service: str) -> None:
    """A WebSocket to `/chat/ws/chat/lobby` reaches the chat service's `/ws/chat/lobby`.

    Refused before accept with the HTTP answer the same request would get, where the server
    carries the ASGI denial response (uvicorn): 404 for an unknown service, 400 for a bad path,
    429 or 503 with Retry-After over the rate limit, a stream cap or a busy Redis. Elsewhere it
    closes: 1008 for the first two, 1013 (try again later) for the rest.
    """
    settings: Settings = websocket.state.settings
    base_url = settings.upstreams().get(service)
    try:
        path = upstream_path(websocket)
    except HTTPException as refused:
        await _refuse(websocket, refused, POLICY_VIOLATION)
        return
    if base_url is None:
        unknown = HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Unknown service {service!r}")
        await _refuse(websocket, unknown, POLICY_VIOLATION)
        return
    who = identity(websocket)
    try:
        await enforce_rate_limit(websocket, websocket.state.rate_limiter)
    except HTTPException as refused:
        await _refuse(websocket, refused, TRY_AGAIN_LATER)
        return
    slots = stream_slots(websocket)
    try:
        with slots.slot(who):
            await proxy_websocket(websocket, websocket.state.stream_client, base_url, path)
    except TooManyStreamsError as refused:
        await _refuse(websocket, refused.as_http(), TRY_AGAIN_LATER)


async def _refuse(websocket: WebSocket, refused: HTTPException, close_code: int) -> None:
    await refuse(websocket, refused.status_code, close_code, str(refused.detail), refused.headers)


# One route per method, each with an operation id of its own: a single `api_route` with seven
# methods gives all seven the same generated id, which FastAPI warns about ("Duplicate
# Operation ID") and which breaks clients generated from the document.
for _method in PROXIED_METHODS:
    router.add_api_route(
        "/{service}/{path:path}",
        proxy,
        methods=[_method],
        dependencies=[RateLimited],
        response_model=None,
        operation_id=f"proxy_{_method.lower()}",
        summary=f"Proxy a {_method} request to an upstream",
        responses=PROXY_RESPONSES,
    )
