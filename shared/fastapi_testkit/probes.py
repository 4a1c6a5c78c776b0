"""Raw-socket probes of a served process: what a hostile client does to a connection.

`assert_connection_limits(url, ...)` sends each abuse the services must survive on their serving
stack (serving.py in each service): an oversized request target, an oversized WebSocket upgrade,
too many or too large headers, a request that stalls mid-headers or mid-body, a connection that
never sends a byte. Each must be answered with its 4xx (or closed) within its deadline.
"""

import re
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

# Above any deadline a probe expects, so a connection left open fails the probe instead of hanging it.
PATIENCE = 10.0
UPGRADE = (
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
)


@dataclass(frozen=True)
class Reply:
    """What the server sent before it closed the connection (or `patience` ran out), and when."""

    data: bytes
    closed: bool
    seconds: float

    @property
    def status(self) -> int | None:
        match = re.match(rb"HTTP/1\.1 (\d{3})", self.data)
        return int(match.group(1)) if match else None


def probe(url: str, request: bytes, *, patience: float = PATIENCE) -> Reply:
    """Send `request` (possibly incomplete) and read until the server closes or `patience` ends."""
    parts = urlsplit(url)
    started = time.monotonic()
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=patience) as sock:
        if request:
            sock.sendall(request)
        received = b""
        while (left := patience - (time.monotonic() - started)) > 0:
            sock.settimeout(left)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                return Reply(received, True, time.monotonic() - started)
            if not chunk:
                return Reply(received, True, time.monotonic() - started)
            received += chunk
        return Reply(received, False, time.monotonic() - started)


def _expect(name: str, reply: Reply, status: int | None, within: float) -> None:
    assert reply.closed, f"{name}: still open after {reply.seconds:.1f}s; got {reply.data[:80]!r}"
    assert reply.seconds <= within, f"{name}: closed only after {reply.seconds:.1f}s (limit {within}s)"
    if status is not None:
        assert reply.status == status, f"{name}: expected {status}, got {reply.data[:80]!r}"


def assert_connection_limits(url: str, *, head_timeout: float, body_timeout: float, margin: float = 2.0) -> None:
    """Every abuse is refused: 414, 431 at once; 408 for a stalled head or body; an idle socket closed.

    Run it against the service as `python -m <service>` serves it, with its `<SERVICE>_HEAD_TIMEOUT`
    and `<SERVICE>_BODY_TIMEOUT` scaled down; the limits on sizes are the serving defaults.
    """
    host = b"Host: probe\r\n"
    at_once = margin
    _expect("target over 8 KiB", probe(url, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n" + host + b"\r\n"), 414, at_once)
    upgrade = b"GET /ws/" + b"r" * 10_000 + b" HTTP/1.1\r\n" + host + UPGRADE + b"\r\n"
    _expect("WebSocket upgrade over 8 KiB", probe(url, upgrade), 414, at_once)
    headers = b"".join(b"X-%d: v\r\n" % i for i in range(101))
    _expect("101 headers", probe(url, b"GET / HTTP/1.1\r\n" + host + headers + b"\r\n"), 431, at_once)
    big = b"X-Big: " + b"b" * 20_000 + b"\r\n"
    _expect("a 20 KB header", probe(url, b"GET / HTTP/1.1\r\n" + host + big + b"\r\n"), 431, at_once)
    _expect("headers that stall", probe(url, b"GET / HTTP/1.1\r\n" + host), 408, head_timeout + margin)
    _expect("a socket that sends nothing", probe(url, b""), None, head_timeout + margin)
    body = b"POST / HTTP/1.1\r\n" + host + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"
    _expect("a body that stalls", probe(url, body), None, 2 * body_timeout + margin)
    normal = probe(url, b"GET /health HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n")
    assert normal.status in (200, 503), f"a plain request after the probes: {normal.data[:80]!r}"
