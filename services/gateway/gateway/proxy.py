"""Passing a request to an upstream and its response back, streamed."""

import logging
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import unquote

import anyio
import httpx
from fastapi import HTTPException, Request, status
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.requests import ClientDisconnect, HTTPConnection
from starlette.types import Receive, Scope, Send

from gateway.telemetry import Entry, Metrics, RequestLog

logger = logging.getLogger(__name__)

# Not in HTTP's registry: nginx's code for a client that went away before the answer.
CLIENT_CLOSED_REQUEST = 499

# Request headers an upstream needs; everything else (cookies, hop-by-hop headers, Host) stays
# at the gateway.
FORWARDED_REQUEST_HEADERS = ("authorization", "content-type", "accept", "last-event-id", "cache-control", "user-agent")
# Response headers not relayed. Those that describe this hop's connection, not the content (and
# any other the upstream's Connection header names: relayed_headers); Content-Length too: the
# body is relayed as it comes, and a stream cut short must not break its promise. And Date and
# Server, which the gateway's own server sets on every answer: relayed as well, a client saw
# each twice.
NOT_RELAYED = {
    *(b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer", b"upgrade", b"content-length"),
    *(b"date", b"server"),
}
# A plain answer that declares a length up to this is read whole and sent as one body. Streamed,
# a small JSON answer costs Starlette's disconnect-listening task group, chunked framing and a
# socket write more (head, chunk, terminator): measured with py-spy, about a third of the
# gateway's event loop at 10 connections (bench/README.md, "Profiling the gateway"). Streams,
# and answers without a length or longer, are relayed as they come.
BUFFERED_MAX_BYTES = 65_536


def checked_path(path: str) -> str:
    """`path` unless it tries to climb out of its service with `..`, or holds a control
    character, encoded or not (400).

    Decoded until stable, so `%2e%2e` and `%252e%252e` are caught too: an upstream that decodes
    once more would otherwise see `..`. Control characters have no business in a path, and the
    upstream's URL could not carry them (httpx refuses `%01` decoded: unchecked, a 500).
    """
    decoded = path
    while (once := unquote(decoded)) != decoded:
        decoded = once
    if ".." in decoded.replace("\\", "/").split("/"):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="Path must not contain '..' segments")
    if any(ord(char) < 0x20 or ord(char) == 0x7F for char in decoded):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="Path must not contain control characters")
    return path


def upstream_path(connection: HTTPConnection) -> str:
    """The path after `/{service}/`, exactly as the client sent it (percent-encoding kept).

    The route matched the decoded path, where `%3F` had become `?` and `%2F` `/`: rebuilding the
    URL from it cut the path at the `?`. The server's `raw_path` is the request line's own bytes.
    """
    raw = connection.scope.get("raw_path")
    if raw is None:  # a server that does not give it: re-encode the decoded path
        raw = connection.scope["path"].encode()
    text = raw.split(b"?", 1)[0].decode("latin-1")
    _, _, rest = text.lstrip("/").partition("/")
    return checked_path(rest)


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
        # and nobody to answer. 499 is what proxies log for it; unhandled, it would be a 500
        # with a traceback in the log.
        raise HTTPException(CLIENT_CLOSED_REQUEST, detail="Client closed the request") from None
    return bytes(body)


def upstream_error(service: str, status_code: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "service": service}, status_code=status_code)


def upstream_url(base_url: str, path: str, query: bytes) -> httpx.URL:
    """`base_url` + `/path` + `?query`, the path and query passed on byte for byte."""
    base = httpx.URL(base_url)
    raw_path = base.raw_path.rstrip(b"/") + b"/" + path.encode("latin-1")
    return base.copy_with(raw_path=raw_path + (b"?" + query if query else b""))


def gateway_location(location: bytes, request_url: httpx.URL, base_url: str, service: str) -> bytes:
    """A redirect's `Location` as the gateway's client must follow it: one that leads to the
    upstream (its origin and base path, the configured base URL) leads to the gateway's own path
    for it instead; any other is left as it is.

    Followed as sent, `http://127.0.0.1:8001/api/articles/` took the client around the gateway and
    its limits. Relative references resolve against the upstream URL that was asked, as the
    upstream meant them. The answer is a path on the gateway (`/articles/api/articles/`), not a
    URL: a client resolves it against the URL it asked, which knows the gateway's public scheme
    and host (behind TLS or another proxy) better than the gateway does.
    """
    base = httpx.URL(base_url)
    try:  # not ASCII: no valid URL, and decoding it would change its bytes; left as it is
        target = request_url.join(location.decode("ascii"))
    except (httpx.InvalidURL, UnicodeError):
        return location
    prefix = base.raw_path.split(b"?", 1)[0].rstrip(b"/")
    path = target.raw_path
    if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
        return location
    if path != prefix and not path.startswith((prefix + b"/", prefix + b"?")):
        return location
    fragment = b"#" + target.fragment.encode() if target.fragment else b""
    return b"/" + service.encode() + b"/" + path[len(prefix) :].lstrip(b"/") + fragment


def forwarded_headers(connection: HTTPConnection, names: tuple[str, ...]) -> httpx.Headers:
    """The headers among `names`, their values the bytes the client sent, and X-Forwarded-For.

    Bytes, not decoded text: httpx refuses a str value that is not ASCII, so decoded, `caf\xe9`
    in a User-Agent would be a 500 (and a stream slot never given back); an upstream reached
    directly answers it normally, and through the gateway it gets the same bytes.
    """
    wanted = {name.encode() for name in names}
    headers = httpx.Headers([(name, value) for name, value in connection.scope["headers"] if name.lower() in wanted])
    if connection.client is not None:
        headers["x-forwarded-for"] = connection.client.host
    return headers


async def forward(
    request: Request,
    *,
    client: httpx.AsyncClient,
    telemetry: tuple[Metrics, RequestLog],
    service: str,
    base_url: str,
    path: str,
    body: bytes,
    on_close: Callable[[], None] | None = None,
) -> Response:
    """Send the request to `base_url/path` and stream the upstream's answer back (a small one
    with a declared length is read whole first: BUFFERED_MAX_BYTES).

    The request is logged once the upstream's status is known: its duration is the time to the
    response headers, which is what a slow upstream costs before the first byte. `on_close` runs
    once the answer is over, however it ends (a stream's slot is released by it).
    """
    start = time.perf_counter()
    headers_at = None
    try:  # from the first step: whatever fails, `on_close` still runs (a stream's slot is given back)
        url = upstream_url(base_url, path, request.scope.get("query_string", b""))
        headers = forwarded_headers(request, FORWARDED_REQUEST_HEADERS)
        upstream_request = client.build_request(request.method, url, headers=headers, content=body)
        upstream = await client.send(upstream_request, stream=True)
        headers_at = time.perf_counter()
        if on_close is None and _small(upstream):
            result: Response = await _buffered(upstream, service, base_url)
        else:
            result = RelayResponse(Upstream(upstream, on_close), service, base_url)
            on_close = None  # the relay owns it now
    except httpx.TimeoutException:
        result = upstream_error(service, status.HTTP_504_GATEWAY_TIMEOUT, f"{service} did not answer in time")
    except httpx.TransportError as error:
        result = upstream_error(service, status.HTTP_502_BAD_GATEWAY, f"{service} is unreachable: {error!r}")
    finally:
        if on_close is not None:
            on_close()
    seconds = (headers_at or time.perf_counter()) - start
    metrics, log = telemetry
    metrics.observe(service, result.status_code, seconds)
    log.add(Entry(request.method, service, f"/{unquote(path)}", result.status_code, seconds * 1000))
    return result


def _small(upstream: httpx.Response) -> bool:
    length = upstream.headers.get("content-length", "")
    return length.isdigit() and int(length) <= BUFFERED_MAX_BYTES


async def _buffered(upstream: httpx.Response, service: str, base_url: str) -> Response:
    """The whole answer, its bytes as the upstream sent them (no decoding), in one response.

    A transport error while reading it still reaches the caller's handlers (504, 502): nothing
    has been sent to the client yet. The upstream's Content-Length is kept (to a HEAD request
    it describes a body that is not sent)."""
    try:
        body = b"".join([chunk async for chunk in upstream.aiter_raw()])
    finally:
        await upstream.aclose()
    result = Response(body, status_code=upstream.status_code)
    result.raw_headers = relayed_headers(upstream, service, base_url, NOT_RELAYED - {b"content-length"})
    return result


def relayed_headers(
    upstream: httpx.Response, service: str, base_url: str, not_relayed: set[bytes]
) -> list[tuple[bytes, bytes]]:
    """The upstream's headers as raw pairs (a repeated Set-Cookie stays repeated, not joined by
    commas), less `not_relayed` and those its Connection header names: they describe its
    connection to the gateway, as Keep-Alive does (RFC 9110, section 7.6.1). A redirect's
    Location leads to the gateway (gateway_location)."""
    named = {
        token.strip().lower()
        for name, value in upstream.headers.raw
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    dropped = not_relayed | named
    headers = []
    for key, value in upstream.headers.raw:
        name = key.lower()
        if name in dropped:
            continue
        if name == b"location":
            value = gateway_location(value, upstream.request.url, base_url, service)
        headers.append((name, value))
    return headers


class Upstream:
    """An upstream's answer being relayed, and what runs once it is over (`on_close`): both
    closed once, by whichever comes first of the relay's end and the response's."""

    def __init__(self, response: httpx.Response, on_close: Callable[[], None] | None) -> None:
        self.response, self.on_close = response, on_close
        self.closed = False

    async def aclose(self) -> None:
        """Return the connection to its pool, then run `on_close`; a second call does nothing.

        Shielded: it runs in a `finally` that a cancellation may have brought there (Starlette
        cancels the relay when its client leaves), and a close cut short would keep both the
        connection and, without the `finally` here, the stream's slot."""
        if self.closed:
            return
        self.closed = True
        try:
            with anyio.CancelScope(shield=True):
                await self.response.aclose()
        finally:
            if self.on_close is not None:
                self.on_close()


class RelayResponse(StreamingResponse):
    """The upstream's answer relayed as it comes, closed when the response ends however it ends.

    The relay's own `finally` is not enough: a client that leaves once the upstream's headers are
    in, before the first chunk, can end the response before its body is ever iterated, and a
    generator that never started never runs its `finally`. Starlette, for a server of ASGI spec
    before 2.4, cancels the task that streams the body when the disconnect comes (while that task
    still sends the response start, its body is untouched); from 2.4, the response start's
    `send` fails and the body is never read.
    """

    def __init__(self, upstream: Upstream, service: str, base_url: str) -> None:
        super().__init__(_relay(upstream, service), status_code=upstream.response.status_code)
        self.raw_headers = relayed_headers(upstream.response, service, base_url, NOT_RELAYED)
        self.upstream = upstream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self.upstream.aclose()


async def _relay(upstream: Upstream, service: str) -> AsyncIterator[bytes]:
    """Chunks as they arrive (an SSE event is never held back), and the connection returned to
    the pool as soon as the stream ends: finished, failed, or cancelled by a client that left.

    An upstream that fails mid-answer (it went away, or a read timed out) ends the answer here:
    the status line is long gone, so all that is left is to stop. A warning says so; raised, it
    would be an "Exception in ASGI application" with a traceback for an upstream's hiccup.
    """
    try:
        async for chunk in upstream.response.aiter_raw():
            yield chunk
    except httpx.HTTPError as error:
        logger.warning("%s: the upstream's answer broke off: %r", service, error)
    finally:
        await upstream.aclose()
