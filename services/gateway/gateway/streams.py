"""Long-lived streams (SSE, WebSockets): recognised before they connect, and capped.

A stream holds an upstream connection for as long as its client stays, so streams get a pool of
their own (upstream.create_stream_client) and caps checked at once, before connecting: past a
client's cap a new stream is refused with 429, past the total with 503, never after a wait.
The counts are this instance's: a stream is a connection to this process, and the total cap
protects this process's pool.
"""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from fnmatch import fnmatchcase

from fastapi import HTTPException, status

# Seconds a client refused a stream is told to wait: streams last, so a retry storm would only
# be refused again.
STREAM_RETRY_AFTER = 5


def is_stream(accept: str | None, service: str, path: str, routes: tuple[str, ...]) -> bool:
    """A request that asks for an event stream, or whose route is configured as a stream."""
    if accept is not None and "text/event-stream" in accept.lower():
        return True
    return any(fnmatchcase(f"{service}:{path}", route) for route in routes)


class TooManyStreamsError(Exception):
    """A stream over a cap; `per_client` says which one."""

    def __init__(self, per_client: bool) -> None:
        super().__init__("per client" if per_client else "in total")
        self.per_client = per_client

    def as_http(self) -> HTTPException:
        if self.per_client:
            return HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                detail="Too many open streams for this client",
                headers={"Retry-After": str(STREAM_RETRY_AFTER)},
            )
        return HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            detail="Too many open streams",
            headers={"Retry-After": str(STREAM_RETRY_AFTER)},
        )


class StreamSlots:
    """Open streams per client and in total, each under its cap."""

    def __init__(self, *, total: int, per_client: int) -> None:
        self.total, self.per_client = total, per_client
        self.open: Counter[str] = Counter()

    def acquire(self, client: str) -> None:
        """Take a slot for `client`, or raise TooManyStreamsError at once."""
        if self.open[client] >= self.per_client:
            raise TooManyStreamsError(per_client=True)
        if self.open.total() >= self.total:
            raise TooManyStreamsError(per_client=False)
        self.open[client] += 1

    def release(self, client: str) -> None:
        self.open[client] -= 1
        if self.open[client] <= 0:
            del self.open[client]

    @contextmanager
    def slot(self, client: str) -> Iterator[None]:
        self.acquire(client)
        try:
            yield
        finally:
            self.release(client)
