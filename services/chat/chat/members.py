"""One accepted WebSocket: a task reads what the client sends, another writes what it is sent.

Why a bounded queue and a writer per member, and not `await websocket.send_text()` in a loop
over the room: a client that stops reading makes the server's sends wait once the socket
buffers are full, and a loop awaiting each member in turn would stall the whole room behind it.
Here a broadcast only puts the text in each member's queue, without waiting, and the member's
own writer sends it. A member whose queue is full (`queue_size` messages behind) is dropped
from its room at once and closed with 1008; the others never wait for it.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from fastapi import WebSocket, WebSocketDisconnect, status

logger = logging.getLogger(__name__)

# How long the close frame to a dropped member may take: one that stopped reading may never
# take it, and its connection is over either way.
CLOSE_TIMEOUT = 5.0


@dataclass(frozen=True)
class Close:
    """Why the server ends a connection. A close reason may be 123 bytes at most (RFC 6455)."""

    code: int
    reason: str


TOO_SLOW = Close(status.WS_1008_POLICY_VIOLATION, "too slow: messages were not read in time")
BINARY = Close(status.WS_1003_UNSUPPORTED_DATA, "binary frames are not accepted; send text")
INVALID_TEXT = Close(status.WS_1007_INVALID_FRAME_PAYLOAD_DATA, "text must be valid UTF-8")
INTERNAL_ERROR = Close(status.WS_1011_INTERNAL_ERROR, "internal error; the message was not sent")

# What to do with each text message a member sends: None to go on, a Close to end the connection.
Handler = Callable[["Member", str], Awaitable[Close | None]]


class Member:
    """A connected client and the messages waiting to be sent to it."""

    def __init__(self, websocket: WebSocket, *, max_message_bytes: int, queue_size: int) -> None:
        self.websocket = websocket
        self.max_message_bytes = max_message_bytes
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self._fell_behind = anyio.Event()

    def offer(self, text: str) -> bool:
        """Queue `text` without waiting; False, and the member marked to be closed, if its queue is full."""
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            self._fell_behind.set()
            return False
        return True

    async def serve(self, handle: Handler) -> None:
        """Read and write until the client leaves or must go; then close it, saying why.

        The reader, the writer and the watcher run in an anyio task group, not as bare asyncio
        tasks: the first to finish cancels the others, and a cancellation from outside (server
        shutdown, TestClient leaving) reaches all three cleanly. An exception from `handle`
        (the database is down, say) is logged and closes the connection with 1011.
        """
        outcomes: list[Close | None] = []
        async with anyio.create_task_group() as group:

            async def run(step: Callable[[], Awaitable[Close | None]]) -> None:
                outcomes.append(await step())
                group.cancel_scope.cancel()

            group.start_soon(run, lambda: self._read(handle))
            group.start_soon(run, self._write)
            group.start_soon(run, self._watch)
        if None in outcomes:
            return  # the client has gone: there is nobody to send a close to
        close = next(outcome for outcome in outcomes if outcome is not None)
        # The client may have left meanwhile (WebSocketDisconnect), or stopped reading so that
        # even the close frame cannot be sent (the timeout): either way the connection is over.
        with contextlib.suppress(WebSocketDisconnect), anyio.move_on_after(CLOSE_TIMEOUT):
            await self.websocket.close(close.code, close.reason)

    async def _read(self, handle: Handler) -> Close | None:
        """None when the client disconnects; a Close for input it must not send."""
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return None
            text = message.get("text")
            if text is None:
                return BINARY
            try:
                size = len(text.encode())
            except UnicodeEncodeError:  # lone surrogates: only an in-process client can send them
                return INVALID_TEXT
            if size > self.max_message_bytes:
                return Close(status.WS_1009_MESSAGE_TOO_BIG, f"message over {self.max_message_bytes} bytes")
            try:
                close = await handle(self, text)
            except Exception:
                # The database is down, say. Left to propagate, uvicorn would drop the TCP
                # connection without a close frame (1006); this closes it with a reason.
                logger.exception("Handling a message failed; closing the connection with 1011")
                return INTERNAL_ERROR
            if close is not None:
                return close

    async def _write(self) -> None:
        """Send queued messages in order until the client has gone."""
        while True:
            text = await self._outbox.get()
            try:
                await self.websocket.send_text(text)
            except WebSocketDisconnect:  # the server found the connection gone
                return

    async def _watch(self) -> Close:
        await self._fell_behind.wait()
        return TOO_SLOW
