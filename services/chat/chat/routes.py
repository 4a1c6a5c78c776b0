"""The WebSocket routes (rooms, notifications) and the HTTP API beside them."""

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, WebSocket, status

from chat.auth import AuthenticationError, authenticate
from chat.dependencies import (
    CurrentUser,
    FanOutDep,
    HistoryDep,
    HistoryWriterDep,
    InboxesDep,
    RoomsDep,
    SettingsDep,
)
from chat.groups import Groups
from chat.members import Close, Handler, Member
from chat.schemas import ROOM_ID_PATTERN, MessageRead, NotificationCreate, NotificationResult, RoomRead
from chat.settings import Settings
from service_runtime.refusals import refuse

# A custom WebSocket close code (4000-4999 are the application's): the token was not accepted.
WS_4001_UNAUTHORIZED = 4001
BAD_ROOM_ID = Close(status.WS_1008_POLICY_VIOLATION, "room id must be 1 to 64 of A-Z a-z 0-9 _ -")
BEARER_CHALLENGE = {"WWW-Authenticate": "Bearer"}
ONLY_PING = Close(status.WS_1008_POLICY_VIOLATION, "only 'ping' is understood here")

router = APIRouter()


async def _serve(websocket: WebSocket, group: Groups, key: str, settings: Settings, handle: Handler) -> None:
    """Accept `websocket` as a member of `group[key]` and serve it until it ends; never leak it.

    The member joins *before* the accept: a client whose handshake has completed is already in
    the group, so a message sent right after the handshake (by it or anyone) reaches it.
    """
    member = Member(websocket, settings)
    group.join(key, member)
    try:
        await websocket.accept()
        await member.serve(handle, leave=lambda: group.leave(key, member))
    finally:
        group.leave(key, member)


@router.websocket("/ws/chat/{room_id}")
async def chat_room(
    websocket: WebSocket,
    room_id: str,
    settings: SettingsDep,
    rooms: RoomsDep,
    fanout: FanOutDep,
    history_writer: HistoryWriterDep,
) -> None:
    """Every text a member sends reaches every member of the room, itself included, then the history."""
    # Checked here rather than with Path(pattern=...): FastAPI's validation close would carry
    # the error list as its reason, which is neither a string nor within the 123 bytes allowed.
    if not re.fullmatch(ROOM_ID_PATTERN, room_id):
        # 422 as /api/rooms/{room_id}/messages answers the same id (refusals.py: where it is sent).
        await refuse(websocket, status.HTTP_422_UNPROCESSABLE_CONTENT, BAD_ROOM_ID.code, BAD_ROOM_ID.reason)
        return

    async def broadcast(member: Member, text: str) -> None:
        # Delivered first, stored after: nothing between a message and the sockets waits on
        # MongoDB (history_writer.py). A publish that fails (Redis) is not stored: 1011.
        await fanout.publish(room_id, f"Room {room_id}: {text}")
        history_writer.record(room_id, text)

    await _serve(websocket, rooms, room_id, settings, broadcast)


@router.websocket("/ws/notifications")
async def notifications(
    websocket: WebSocket, settings: SettingsDep, inboxes: InboxesDep, token: str | None = None
) -> None:
    """A user's notification socket. The token (query parameter) is checked before accept."""
    try:
        user = authenticate(token, settings.jwt_secret, settings.jwt_leeway)
    except AuthenticationError as error:
        # Refused before accept: a real server (uvicorn) answers the handshake with HTTP 401;
        # in-process clients without the denial response see close code 4001 (refusals.py).
        reason = f"invalid token: {error}"
        await refuse(websocket, status.HTTP_401_UNAUTHORIZED, WS_4001_UNAUTHORIZED, reason, BEARER_CHALLENGE)
        return

    async def answer_ping(member: Member, text: str) -> Close | None:
        if text != "ping":
            return ONLY_PING
        member.offer("pong")  # through the member's queue: its writer is the only one that sends
        return None

    await _serve(websocket, inboxes, user.id, settings, answer_ping)


@router.get("/api/rooms")
async def list_rooms(rooms: RoomsDep) -> list[RoomRead]:
    """The rooms that have members connected to this instance, and how many."""
    return [RoomRead(room_id=room_id, members=count) for room_id, count in rooms.sizes().items()]


@router.get("/api/rooms/{room_id}/messages")
async def room_messages(
    history: HistoryDep,
    room_id: Annotated[str, Path(pattern=ROOM_ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[MessageRead]:
    """The room's latest `limit` messages, oldest first."""
    return [
        MessageRead(room_id=m.room_id, text=m.text, sent_at=m.sent_at) for m in await history.latest(room_id, limit)
    ]


@router.post(
    "/api/notifications",
    status_code=status.HTTP_202_ACCEPTED,
    responses={status.HTTP_401_UNAUTHORIZED: {"description": "no bearer token, or not a valid one"}},
)
async def push_notification(body: NotificationCreate, inboxes: InboxesDep, user: CurrentUser) -> NotificationResult:
    """Send `message` to every open notification socket of `user_id` connected to this instance."""
    return NotificationResult(reached=inboxes.deliver(body.user_id, body.message))
