"""One accepted WebSocket: a task reads what the client sends, another writes what it is sent.

Why an outbox and a writer per member, and not `await websocket.send_text()` in a loop over the
room: a client that stops reading makes the server's sends wait once the socket buffers are
full, and a loop awaiting each member in turn would stall the whole room behind it. Here a
broadcast only appends the text to each member's outbox, without waiting, and wakes the
member's own writer, which sends everything queued by then in one go.

Slow is a matter of time, not of queue length. A burst (a room of 300 speaking at once) puts
300 messages in every outbox before any writer runs, so a small cap on queued messages would
close every member of such a room, readers and all. A member is dropped from its room and
closed with 1008 when one send to it has not completed within `send_timeout` seconds (its client
stopped reading and the socket buffers stayed full), or at once when its outbox passes a hard
cap that bounds memory (`queue_size` messages or `queue_bytes` UTF-8 bytes).

A sender over its rate (`send_rate`, `send_burst`) is slowed down, not closed: throttle.py.
"""

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import anyio
from fastapi import WebSocket, WebSocketDisconnect, status

from chat.settings import Settings
from chat.throttle import TokenBucket

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

    def __init__(self, websocket: WebSocket, settings: Settings) -> None:
        self.websocket = websocket
        self.max_message_bytes = settings.max_message_bytes
        self.queue_size = settings.queue_size
        self.queue_bytes = settings.queue_bytes
        self.send_timeout = settings.send_timeout
        self._bucket = TokenBucket(settings.send_rate, settings.send_burst)
        # A deque and an event rather than an asyncio.Queue: the writer takes everything queued
        # in one wake-up (a burst of N messages costs it one task switch, not N).
        self._outbox: deque[tuple[str, int]] = deque()
        self._queued_bytes = 0
        self._wake_writer = asyncio.Event()
        self._fell_behind = anyio.Event()

    def offer(self, text: str, size: int | None = None) -> bool:
        """Queue `text` (`size` UTF-8 bytes, if the caller knows) without waiting.

        False, and the member marked to be closed, when it would pass either hard cap.
        """
        if size is None:
            size = len(text.encode())
        if len(self._outbox) >= self.queue_size or self._queued_bytes + size > self.queue_bytes:
            self._fell_behind.set()
            return False
        self._outbox.append((text, size))
        self._queued_bytes += size
        self._wake_writer.set()
        return True

    async def serve(self, handle: Handler, leave: Callable[[], None]) -> None:
        """Read and write until the client leaves or must go; then close it, saying why.

        The reader, the writer and the watcher run in an anyio task group, not as bare asyncio
        tasks: the first to finish cancels the others, and a cancellation from outside (server
        shutdown, TestClient leaving) reaches all three cleanly. An exception from `handle`
        (Redis refused the publish, say) is logged and closes the connection with 1011. `leave` is
        called as soon as the connection is over, before the close frame (which a client that
        stopped reading may take seconds to refuse): the room stops counting it at once.
        """
        outcomes: list[Close | None] = []
        async with anyio.create_task_group() as group:

            async def run(step: Callable[[], Awaitable[Close | None]]) -> None:
                outcomes.append(await step())
                group.cancel_scope.cancel()

            group.start_soon(run, lambda: self._read(handle))
            group.start_soon(run, self._write)
            group.start_soon(run, self._watch)
        leave()
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
            # Past its rate, this message waits and the socket is not read for a while. Taken
            # after the receive, not before: a token taken before would be held through an
            # idle wait, and the client could then send send_burst + 1 at once.
            await self._bucket.take()
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
                # Redis refused the publish, say. Left to propagate, uvicorn would drop the TCP
                # connection without a close frame (1006); this closes it with a reason.
                logger.exception("Handling a message failed; closing the connection with 1011")
                return INTERNAL_ERROR
            if close is not None:
                return close

    async def _write(self) -> Close | None:
        """Send queued messages in order until the client has gone, or one send takes too long.

        Each wake-up sends everything queued by then; each send has its own deadline
        (`send_timeout`), moved on after every send that completes, so a long burst to a client
        that reads is never cut short, and a client that stopped reading is given up on in time.
        """
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()  # before sending: what is offered meanwhile wakes it again
            with anyio.CancelScope() as deadline:
                while self._outbox:
                    deadline.deadline = anyio.current_time() + self.send_timeout
                    text, size = self._outbox.popleft()
                    try:
                        await self.websocket.send_text(text)
                    except WebSocketDisconnect:  # the server found the connection gone
                        return None
                    self._queued_bytes -= size
            if deadline.cancelled_caught:  # the client stopped reading: the socket buffers stayed full
                return TOO_SLOW

    async def _watch(self) -> Close:
        await self._fell_behind.wait()
        return TOO_SLOW
