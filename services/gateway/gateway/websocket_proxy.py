"""A WebSocket passed through to an upstream: frames both ways, close codes as they are.

The upstream side is httpx-ws on the gateway's stream client, so it goes through the same
transport seam as every other upstream call (tests reach in-process upstreams through it).
The client's handshake is answered only once the upstream has answered its own: an upstream
that closes before accepting gets the client closed before accept too, with the upstream's code
(a real server sends that as HTTP 403, as uvicorn does for any close before accept). An upstream
that answers its handshake with an HTTP status (a real server's refusal) gets the client the
same 4xx, a 502 for anything else, where the gateway's server carries the ASGI denial response;
elsewhere 1008.
"""

import asyncio
import logging
from contextlib import suppress
from typing import TypeVar

import httpx
import wsproto.events
from httpx_ws import AsyncWebSocketSession, WebSocketNetworkError, WebSocketUpgradeError, aconnect_ws
from httpx_ws import WebSocketDisconnect as UpstreamClosed
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from gateway.proxy import forwarded_headers, upstream_url
from service_runtime.refusals import refuse

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseException)

# Close codes for what the gateway itself refuses or cannot do (RFC 6455 section 7.4.1).
POLICY_VIOLATION = 1008
INTERNAL_ERROR = 1011
TRY_AGAIN_LATER = 1013
BAD_GATEWAY = 502
# Not on the wire (1005 means "no code was sent"): a client close without one is passed on as 1000.
NO_STATUS = 1005

# What the upstream needs from the client's handshake; the WebSocket headers are httpx-ws's.
FORWARDED_HANDSHAKE_HEADERS = ("authorization", "user-agent", "origin")


async def proxy_websocket(websocket: WebSocket, client: httpx.AsyncClient, base_url: str, path: str) -> None:
    """Connect upstream, then accept the client and pump frames both ways until either closes."""
    url = upstream_url(base_url, path, websocket.scope.get("query_string", b""))
    headers = forwarded_headers(websocket, FORWARDED_HANDSHAKE_HEADERS)
    try:
        async with aconnect_ws(
            str(url),
            client,
            subprotocols=list(websocket.scope.get("subprotocols", [])) or None,
            headers=headers,
            # The client's own pings keep the connection alive end to end; the gateway adds none.
            keepalive_ping_interval_seconds=None,
            session_class=AsyncWebSocketSession,
        ) as upstream:
            await websocket.accept(subprotocol=upstream.subprotocol)
            await _pump(websocket, upstream)
    except* UpstreamClosed as group:
        # The upstream closed before accepting (in-process, where the close code survives).
        await _close(websocket, _first(group).code, _first(group).reason)
    except* WebSocketUpgradeError as group:
        # The upstream answered the handshake with a plain HTTP status (a real server's 403).
        status_code = _first(group).response.status_code
        logger.info("upstream refused the WebSocket at %s with HTTP %d", url.path, status_code)
        await _refuse(websocket, status_code)
    except* (httpx.TransportError, WebSocketNetworkError) as group:
        logger.warning("WebSocket upstream at %s failed: %r", url.path, _first(group))
        await _close(websocket, INTERNAL_ERROR, "upstream unavailable")
    except* (OSError, WebSocketDisconnect) as group:
        # A send to the client failed (ASGI spec 2.4: OSError, as Starlette's WebSocketDisconnect
        # once accepted): it left, during the upstream's handshake or the session, and there is
        # nobody to tell. Raised, it reached the server in httpx-ws's ExceptionGroup, logged as
        # "Exception in ASGI application".
        logger.info("WebSocket client at %s left: %r", url.path, _first(group))


def _first(group: BaseExceptionGroup[E]) -> E:
    """The first exception in `group`, however deep (httpx-ws nests task groups)."""
    first: E | BaseExceptionGroup[E] = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def _refuse(websocket: WebSocket, upstream_status: int) -> None:
    """Refuse the client as the upstream refused the gateway: its 4xx, or 502."""
    relayed = upstream_status if 400 <= upstream_status < 500 else BAD_GATEWAY
    with suppress(RuntimeError, WebSocketDisconnect, OSError):  # the client may be gone already
        await refuse(websocket, relayed, POLICY_VIOLATION, f"upstream refused: HTTP {upstream_status}")


async def _close(websocket: WebSocket, code: int, reason: str | None) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with suppress(RuntimeError, WebSocketDisconnect):  # the client may be gone already
            await websocket.close(code, reason)


async def _pump(websocket: WebSocket, upstream: AsyncWebSocketSession) -> None:
    """Both directions at once; the first to end (a close from either side) ends the other."""
    to_upstream = asyncio.create_task(_client_to_upstream(websocket, upstream))
    to_client = asyncio.create_task(_upstream_to_client(websocket, upstream))
    done, pending = await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # an unexpected error is not swallowed


async def _client_to_upstream(websocket: WebSocket, upstream: AsyncWebSocketSession) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            code = message.get("code", 1000)
            await upstream.close(1000 if code == NO_STATUS else code, message.get("reason") or None)
            return
        if message.get("text") is not None:
            await upstream.send_text(message["text"])
        else:
            await upstream.send_bytes(message.get("bytes") or b"")


async def _upstream_to_client(websocket: WebSocket, upstream: AsyncWebSocketSession) -> None:
    try:
        while True:
            event = await upstream.receive()
            if isinstance(event, wsproto.events.TextMessage):
                await websocket.send_text(event.data)
            elif isinstance(event, wsproto.events.BytesMessage):
                await websocket.send_bytes(bytes(event.data))
    except UpstreamClosed as closed:
        code = 1000 if closed.code == NO_STATUS else closed.code
        await _close(websocket, code, closed.reason or None)
    except WebSocketNetworkError:
        await _close(websocket, INTERNAL_ERROR, "upstream connection lost")
