"""Passing a request to an upstream and its response back, streamed."""

import logging
import time
from collections.abc import AsyncIterator
from urllib.parse import unquote

import httpx
from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse, StreamingResponse
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import ClientDisconnect

from gateway.storage import record

logger = logging.getLogger(__name__)

# Not in HTTP's registry: nginx's code for a client that went away before the answer.
CLIENT_CLOSED_REQUEST = 499

# Request headers an upstream needs; everything else (cookies, hop-by-hop headers, Host) stays
# at the gateway.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "last-event-id", "cache-control", "user-agent")
# Response headers that describe this hop's connection, not the content.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "content-length"}


def checked_path(path: str) -> str:
    """`path` unless it tries to climb out of its service with `..`, encoded or not (400).

    Decoded until stable, so `%2e%2e` and `%252e%252e` are caught too: an upstream that decodes
    once more would otherwise see `..`.
    """
    decoded = path
    while (once := unquote(decoded)) != decoded:
        decoded = once
    if ".." in decoded.replace("\\", "/").split("/"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="Path must not contain '..' segments")
    return path


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    too_large = HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, detail=f"Request body over {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise too_large
    except ClientDisconnect:
        # The client left before its body (or, for a GET, its end) arrived: nothing to forward
        # and nobody to answer. 499 is what proxies log for it; unhandled, it was a 500 with a
        # traceback in the log.
        raise HTTPException(CLIENT_CLOSED_REQUEST, detail="Client closed the request") from None
    return bytes(body)


def upstream_error(service: str, status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "service": service}, status_code=status_code)


async def forward(
    request: Request,
    *,
    client: httpx.AsyncClient,
    sessionmaker: async_sessionmaker[AsyncSession],
    service: str,
    base_url: str,
    path: str,
    body: bytes,
) -> StreamingResponse | JSONResponse:
    """Send the request to `base_url/path` and stream the upstream's answer back.

    The request is logged once the upstream's status is known: its duration is the time to the
    response headers, which is what a slow upstream costs before the first byte.
    """
    headers = {name: value for name, value in request.headers.items() if name in FORWARDED_REQUEST_HEADERS}
    if request.client is not None:
        headers["x-forwarded-for"] = request.client.host
    url = httpx.URL(f"{base_url.rstrip('/')}/{path}", query=request.url.query.encode())
    upstream_request = client.build_request(request.method, url, headers=headers, content=body)

    start = time.perf_counter()
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TimeoutException:
        result: StreamingResponse | JSONResponse = upstream_error(
            service, status.HTTP_504_GATEWAY_TIMEOUT, f"{service} did not answer in time"
        )
    except httpx.TransportError as error:
        result = upstream_error(service, status.HTTP_502_BAD_GATEWAY, f"{service} is unreachable: {error!r}")
    else:
        response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        result = StreamingResponse(_relay(upstream), status_code=upstream.status_code, headers=response_headers)
    duration_ms = (time.perf_counter() - start) * 1000
    try:
        await record(
            sessionmaker,
            method=request.method,
            service=service,
            path=f"/{path}",
            status=result.status_code,
            duration_ms=duration_ms,
        )
    except (SQLAlchemyError, OSError):
        # The log is for statistics; losing one entry must not fail the request it describes.
        logger.exception("could not record a proxied request")
    return result


async def _relay(upstream: httpx.Response) -> AsyncIterator[bytes]:
    """Chunks as they arrive (an SSE event is never held back), and the connection returned to
    the pool however the stream ends: finished, failed, or cancelled by a client that left."""
    try:
        async for chunk in upstream.aiter_raw():
            yield chunk
    finally:
        await upstream.aclose()
