"""The article's "WebSocket Testing": a room echo, and a notification socket that needs a JWT.

The article's `token: str = Query(...)` is `token: str | None = None` here: FastAPI closes a
socket that lacks a required parameter with 1008, so a missing token would not get 4001.
`ping` is answered `pong`, so a test can assert the answer. At depth (rooms that broadcast,
every close code): services/chat/tests/test_rooms.py and
services/chat/tests/test_notifications.py.
"""

import jwt
from fastapi import FastAPI, WebSocket, WebSocketDisconnect

SECRET = "change-me: HS256 wants a key of 32 bytes or more"

app = FastAPI()


@app.websocket("/ws/chat/{room_id}")
async def websocket_chat(websocket: WebSocket, room_id: str) -> None:
    await websocket.accept()
    try:
        while True:
            message = await websocket.receive_text()
            await websocket.send_text(f"Room {room_id}: {message}")
    except WebSocketDisconnect:
        pass


def verify_ws_token(token: str | None) -> str | None:
    """The user a valid token names, else None."""
    try:
        return str(jwt.decode(token or "", SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"]})["sub"])
    except jwt.InvalidTokenError:
        return None


@app.websocket("/ws/notifications")
async def websocket_notifications(websocket: WebSocket, token: str | None = None) -> None:
    if verify_ws_token(token) is None:
        await websocket.close(code=4001)  # before accept: no socket is opened for a stranger
        return
    await websocket.accept()
    try:
        while True:
            if await websocket.receive_text() == "ping":
                await websocket.send_text("pong")
    except WebSocketDisconnect:
        pass
