"""A minimal SSE reader on asyncio's Protocol: counts events, and hands over their `data` lines.

Not httpx-sse: a library that decodes every line through Python caps the rate one subscriber
can receive before a fast server does. This one searches the raw bytes for `data:` lines, which
a chunked body never splits (each event is one chunk) and a chunk header never contains.
Keep-alive comments carry no `data:` line and are not counted.
"""

import asyncio
import time
from collections.abc import Callable

DATA = b"\ndata:"


class SseReader(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None] | None) -> None:
        self.on_data = on_data
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.events = 0
        self.status = 0
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opened_at = 0.0
        self.target = 0
        self.reached: asyncio.Future[float] | None = None
        self._in_body = False

    @classmethod
    async def connect(
        cls, host: str, port: int, path: str, on_data: Callable[[bytes], None] | None = None
    ) -> "SseReader":
        loop = asyncio.get_running_loop()
        _, reader = await loop.create_connection(lambda: cls(on_data), host, port)
        request = f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n\r\n"
        assert reader.transport is not None
        reader.transport.write(request.encode())
        await asyncio.wait_for(reader.opened, timeout=30)
        return reader

    def wait_for(self, events: int) -> "asyncio.Future[float]":
        """A future set to the time (perf_counter) at which `events` events in all had arrived."""
        self.target = events
        self.reached = asyncio.get_running_loop().create_future()
        self._check()
        return self.reached

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if not self._in_body:
            self.buffer += data
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            self.status = int(self.buffer[9:12])
            self._in_body = True
            self.opened_at = time.perf_counter()
            data, self.buffer = self.buffer[end + 2 :], b""  # keep one "\r\n" so the first line matches
            if not self.opened.done():
                self.opened.set_result(None)
        # Carry the tail: a `data:` line may be cut between two reads.
        chunk = self.buffer + data
        if self.on_data is None:
            self.events += chunk.count(DATA)
            self.buffer = chunk[-(len(DATA) - 1) :]
        else:
            at = 0
            while (start := chunk.find(DATA, at)) >= 0:
                end = chunk.find(b"\n", start + len(DATA))
                if end < 0:
                    break
                self.events += 1
                self.on_data(chunk[start + len(DATA) : end].strip())
                at = end
            self.buffer = chunk[at:]
        self._check()

    def _check(self) -> None:
        if self.reached is not None and not self.reached.done() and self.events >= self.target:
            self.reached.set_result(time.perf_counter())

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"connection lost before the response: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)
