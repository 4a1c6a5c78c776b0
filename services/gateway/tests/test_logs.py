"""What the gateway logs of a request: its path and query, never a credential in the query.

uvicorn logs each WebSocket handshake with its query string (chat's notification socket takes
`?token=<JWT>`), the access log (`GATEWAY_ACCESS_LOG=true`) each request's, and httpx each
upstream URL at INFO: serving.py's `log_config()` writes a credential's value as `***` in all three.
The gateway's own request log (telemetry.py) stores the path alone.
"""

import httpx
import pytest
import websockets
from fastapi import FastAPI

from fastapi_testkit import live_server
from service_runtime.serving import log_config

from .helpers import logged_lines

pytestmark = pytest.mark.proxy

LOGGERS = ("uvicorn.error", "uvicorn.access", "httpx")
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"  # a JWT's shape; the fake chat takes any


@pytest.mark.websocket
async def test_a_proxied_handshake_is_logged_with_its_token_redacted(app: FastAPI) -> None:
    async with live_server(app, log_config=log_config(), log_level="info", ws="websockets-sansio") as gateway:
        with logged_lines(*LOGGERS) as lines:
            async with websockets.connect(f"{gateway.ws_url}/chat/ws/echo?token={SECRET}&lang=en") as socket:
                await socket.send("hello")
                assert await socket.recv() == f"chat: hello {SECRET}"  # the upstream got the token

    assert any('"WebSocket /chat/ws/echo?token=***&lang=en" [accepted]' in line for line in lines), lines
    assert any("GET http://chat.test/ws/echo?token=***&lang=en " in line for line in lines), lines  # httpx's
    assert [line for line in lines if SECRET in line] == []


async def test_a_proxied_request_is_logged_with_its_credentials_redacted(app: FastAPI) -> None:
    async with live_server(app, log_config=log_config(), log_level="info", access_log=True) as gateway:
        with logged_lines(*LOGGERS) as lines:
            async with httpx.AsyncClient(base_url=gateway.url, timeout=5) as http:
                query = {"access_token": SECRET, "limit": "5"}
                response = await http.get("/articles/api/articles/", params=query)

    assert response.status_code == 200, response.text
    assert any('"GET /articles/api/articles/?access_token=***&limit=5 HTTP/1.1" 200' in line for line in lines), lines
    assert any("GET http://articles.test/api/articles/?access_token=***&limit=5 " in line for line in lines), lines
    assert [line for line in lines if SECRET in line] == []
