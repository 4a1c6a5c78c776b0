"""The chat baseline: a minimal broadcast loop, `await send_text` to each member in turn.

The same route and message text as the chat service (`Room {room_id}: {text}`), with no
history, no per-member queue and no checks.
"""

from collections import defaultdict

from fastapi import FastAPI, WebSocket, WebSocketDisconnect


def create_app() -> FastAPI:
    app = FastAPI()
    rooms: dict[str, set[WebSocket]] = defaultdict(set)

    @app.websocket("/ws/chat/{room_id}")
    async def chat(websocket: WebSocket, room_id: str) -> None:
        await websocket.accept()
        members = rooms[room_id]
        members.add(websocket)
        try:
            while True:
                text = await websocket.receive_text()
                for member in list(members):
                    await member.send_text(f"Room {room_id}: {text}")
        except WebSocketDisconnect:
            pass
        finally:
            members.discard(websocket)

    return app
