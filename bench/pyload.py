"""A small HTTP/1.1 load generator in Python, for machines without wrk.

`python -m bench.pyload URL --connections 50 --duration 3` keeps each connection busy with one
GET after another (keep-alive) and prints a JSON line: requests, errors, non-2xx, p50 and p99 in
milliseconds. Protocol-based asyncio, not a client library: the less it costs per request, the
faster a server it can measure before it caps the figure itself (the bench checks its CPU).
"""

import argparse
import asyncio
import json
import statistics
import time
from urllib.parse import urlsplit


class _Connection(asyncio.Protocol):
    def __init__(self, request: bytes, deadline: float, latencies: list[float], counts: dict[str, int]) -> None:
        self.request, self.deadline, self.latencies, self.counts = request, deadline, latencies, counts
        self.buffer = b""
        self.sent_at = 0.0
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        self.sent_at = time.perf_counter()
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (length := self._complete_response()) is not None:
            now = time.perf_counter()
            status = int(self.buffer[9:12])
            self.buffer = self.buffer[length:]
            self.latencies.append(now - self.sent_at)
            self.counts["requests"] += 1
            if not 200 <= status < 400:
                self.counts["non2xx"] += 1
            if now < self.deadline:
                self._send()
            elif self.transport is not None:
                self.transport.close()

    def _complete_response(self) -> int | None:
        """The length of the first whole response in the buffer, or None if it is not all here."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].lower()
        body_start = head_end + 4
        marker = head.find(b"content-length:")
        if marker >= 0:
            size = int(head[marker + 15 :].split(b"\r\n", 1)[0])
            return body_start + size if len(self.buffer) >= body_start + size else None
        # Chunked (a streamed response): complete at the last, empty chunk.
        end = self.buffer.find(b"0\r\n\r\n", body_start)
        return None if end < 0 else end + 5

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:
            self.counts["errors"] += 1
        if not self.done.done():
            self.done.set_result(None)


async def run(url: str, connections: int, duration: float) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    latencies: list[float] = []
    counts = {"requests": 0, "errors": 0, "non2xx": 0}
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    deadline = start + duration
    protocols = []
    for _ in range(connections):
        _, protocol = await loop.create_connection(
            lambda: _Connection(request, deadline, latencies, counts), host, port
        )
        protocols.append(protocol)
    await asyncio.wait_for(asyncio.gather(*(p.done for p in protocols)), timeout=duration + 30)
    elapsed = time.perf_counter() - start
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    return {
        "requests": counts["requests"],
        "errors": counts["errors"],
        "non2xx": counts["non2xx"],
        "seconds": elapsed,
        "p50_ms": cuts[49] * 1000,
        "p99_ms": cuts[98] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.pyload", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.connections, args.duration))))


if __name__ == "__main__":
    main()
