"""Refusing a WebSocket handshake so that the client learns why.

A close before accept carries a code only in-process: a real server has no WebSocket to close
yet, so uvicorn answers such a handshake with a bare HTTP 403 and the code is lost. Where the
server supports the ASGI WebSocket denial-response extension (uvicorn does), `refuse` answers
the handshake with an HTTP status of the app's choosing and a JSON body `{"detail": reason}`;
elsewhere (in-process transports without the extension) it closes with the given code.
"""

from collections.abc import Mapping

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket

DENIAL_RESPONSE = "websocket.http.response"
# RFC 6455 section 5.5: a close frame's payload, code included, is at most 125 bytes.
MAX_REASON_BYTES = 123


async def refuse(
    websocket: WebSocket,
    status_code: int,
    close_code: int,
    reason: str,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Refuse `websocket` before accept: HTTP `status_code` where the server can say it, else `close_code`."""
    if DENIAL_RESPONSE in (websocket.scope.get("extensions") or {}):
        response = JSONResponse({"detail": reason}, status_code, headers=dict(headers or {}))
        await websocket.send_denial_response(response)
    else:
        await websocket.close(close_code, reason.encode()[:MAX_REASON_BYTES].decode(errors="ignore"))
