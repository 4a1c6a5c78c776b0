"""A minimal WebSocket client (RFC 6455) on asyncio's Protocol, for many clients in one process.

Not a client library: a library parses each frame through layers of Python, and 100 clients in
a room receive 100 frames per message, so the client would cap the figure long before the
server did. This one reads frames straight from the buffer, and sends text with an all-zero
mask (allowed: the mask only has to be there), which makes masking free. No extension is
offered, so no permessage-deflate: case and baseline alike send plain frames.
"""

import asyncio
import base64
import os
import struct
from collections.abc import Callable

OPCODE_TEXT, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x1, 0x8, 0x9, 0xA


class HandshakeError(RuntimeError):
    pass


class WsClient(asyncio.Protocol):
    """`on_text` gets every text message; `on_count`, if given instead, only how many arrived in
    each read (cheaper: for a client that only needs to count, as in the fan-out test)."""

    def __init__(self, on_text: Callable[[bytes], None] | None, on_count: Callable[[int], None] | None = None) -> None:
        self.on_text = on_text
        self.on_count = on_count
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._upgraded = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        path: str,
        on_text: Callable[[bytes], None] | None = None,
        on_count: Callable[[int], None] | None = None,
    ) -> "WsClient":
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(lambda: cls(on_text, on_count), host, port)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        assert client.transport is not None
        client.transport.write(request.encode())
        await asyncio.wait_for(client.opened, timeout=10)
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self._upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status_line = self.buffer.split(b"\r\n", 1)[0]
            if b" 101 " not in status_line:
                self.opened.set_exception(HandshakeError(status_line.decode(errors="replace")))
                return
            self._upgraded = True
            self.buffer = self.buffer[end + 4 :]
            self.opened.set_result(None)
        self._frames()

    def _frames(self) -> None:
        buffer, at, size, texts = self.buffer, 0, len(self.buffer), 0
        while size - at >= 2:
            first, second = buffer[at], buffer[at + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if size - at < 4:
                    break
                (length,) = struct.unpack_from("!H", buffer, at + 2)
                header = 4
            elif length == 127:
                if size - at < 10:
                    break
                (length,) = struct.unpack_from("!Q", buffer, at + 2)
                header = 10
            if size - at < header + length:
                break
            payload = buffer[at + header : at + header + length]
            at += header + length
            opcode = first & 0x0F
            if opcode == OPCODE_TEXT:
                texts += 1
                if self.on_text is not None:
                    self.on_text(payload)
            elif opcode == OPCODE_PING:
                self._send(OPCODE_PONG, payload)
            elif opcode == OPCODE_CLOSE:
                self.close()
        self.buffer = buffer[at:]
        if texts and self.on_count is not None:
            self.on_count(texts)

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 1 << 16:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        self.transport.write(header + b"\x00\x00\x00\x00" + payload)  # a zero mask: payload as is

    def send_text(self, text: str) -> None:
        self._send(OPCODE_TEXT, text.encode())

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._send(OPCODE_CLOSE, struct.pack("!H", 1000))
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeError(f"connection lost: {exc!r}"))
        if not self.closed.done():
            self.closed.set_result(None)
