import time

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws import WebSocketDisconnect as ClientDisconnect
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.websockets import WebSocketDisconnect

from websocket_chat_app import SECRET, app


def make_token(sub: str = "1", expires_in: int = 60, secret: str = SECRET) -> str:
    return jwt.encode({"sub": sub, "exp": int(time.time()) + expires_in}, secret, algorithm="HS256")


BAD_TOKENS = {
    "missing": "",
    "malformed": "?token=invalid",
    "expired": f"?token={make_token(expires_in=-10)}",
    "wrong-key": f"?token={make_token(secret='another key, also 32 bytes long or more')}",
}


# The article's way: Starlette's TestClient, synchronous. Its receive_text() has no deadline,
# so a reply that never comes hangs the test (the async tests below set one).
def test_websocket_echo() -> None:
    with TestClient(app) as client, client.websocket_connect("/ws/chat/room1") as ws:
        for i in range(3):
            ws.send_text(f"Message {i}")
            assert ws.receive_text() == f"Room room1: Message {i}"


@pytest.mark.parametrize("query", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
def test_websocket_requires_valid_token(query: str) -> None:
    # A close before accept raises on entering the block; the code says why it was refused.
    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(f"/ws/notifications{query}"),
    ):
        pass  # pragma: no cover
    assert closed.value.code == 4001


# The async way: httpx-ws in the test's own event loop, every receive with a deadline.
def ws_client() -> httpx.AsyncClient:
    """A client per connection: handshakes that overlap on one ASGIWebSocketTransport can reach the wrong path."""
    return httpx.AsyncClient(transport=ASGIWebSocketTransport(app), base_url="http://test")


async def test_websocket_valid_token_accepted() -> None:
    url = f"/ws/notifications?token={make_token()}"
    async with ws_client() as client, aconnect_ws(url, client, session_class=AsyncWebSocketSession) as ws:
        await ws.send_text("ping")
        assert await ws.receive_text(timeout=5) == "pong"


@pytest.mark.parametrize("query", BAD_TOKENS.values(), ids=BAD_TOKENS.keys())
async def test_websocket_invalid_token_closed_with_4001(query: str) -> None:
    async with ws_client() as client:  # caught inside: leaving the client wraps errors in an ExceptionGroup
        with pytest.raises(ClientDisconnect) as closed:
            async with aconnect_ws(f"/ws/notifications{query}", client):
                pass  # pragma: no cover
    assert closed.value.code == 4001
