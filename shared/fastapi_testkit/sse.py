"""Read Server-Sent Events in tests, every read with a deadline.

Built on httpx-sse: `aconnect_sse` / `connect_sse` open the stream, its decoder parses it, and
events come back as `httpx_sse.ServerSentEvent`. What the kit adds:

- a deadline on every read, so a stream that stops sending fails the test instead of hanging
  it; keep-alive comments do not extend it;
- the comment lines (`: ping`) that httpx-sse's `EventSource` skips, as the SSE spec tells
  clients to, so a test can see a server's keep-alive pings;
- a clear failure when the response is not an event stream, or never starts (an endless
  stream over `httpx.ASGITransport`, which returns only once the response is complete).

`sse_stream` takes an `httpx.AsyncClient`: the kit's in-process `client` for finite streams, or
one pointed at `live_server.url` for endless ones. `sse_stream_sync` takes a sync client, such
as Starlette's `TestClient`; it reads in a thread of its own, because a blocking read cannot
otherwise be given a deadline.
"""

import queue
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

# httpx-sse's public EventSource drops comment lines; its decoders, which the kit needs to see
# them, are not exported. They are small and stable (unchanged through 0.4.x): if a release
# moves them, this import is the one line to change.
from httpx_sse._decoders import SSEDecoder, SSELineDecoder

DEFAULT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Comment:
    """A comment line (`: text`), such as a keep-alive ping. Clients ignore them; tests may not."""

    text: str


Item = ServerSentEvent | Comment


class _Parser:
    """Turns the text of a response, chunk by chunk, into events and comments."""

    def __init__(self) -> None:
        self._lines = SSELineDecoder()
        self._events = SSEDecoder()

    def feed(self, text: str) -> list[Item]:
        return self._items(self._lines.decode(text))

    def flush(self) -> list[Item]:
        return self._items(self._lines.flush())

    def _items(self, lines: Iterable[str]) -> list[Item]:
        items: list[Item] = []
        for line in lines:
            if line.startswith(":"):
                items.append(Comment(line[1:].removeprefix(" ")))
            elif (event := self._events.decode(line)) is not None:
                items.append(event)
        return items


class _Log:
    """Everything read so far, with one cursor for events and one for comments.

    `next_event` and `next_comment` each return the next item of their kind, reading on as
    needed; what one skips stays in the log for the other, so nothing read is lost.
    """

    def __init__(self, response: httpx.Response, description: str, timeout: float) -> None:
        self.response = response
        self.timeout = timeout
        self._description = description
        self._items: list[Item] = []
        self._cursors = {ServerSentEvent: 0, Comment: 0}
        self.ended = False

    @property
    def items(self) -> list[Item]:
        """Every event and comment received so far, in order."""
        return list(self._items)

    @property
    def comments(self) -> list[str]:
        """The text of every comment received so far, in order."""
        return [item.text for item in self._items if isinstance(item, Comment)]

    @property
    def last_event_id(self) -> str:
        """The id a reconnecting client would send as Last-Event-ID ("" before any)."""
        events = [item for item in self._items if isinstance(item, ServerSentEvent)]
        return events[-1].id if events else ""

    def _take(self, kind: type[Item]) -> Item | None:
        """The next unreturned item of `kind` already in the log, if any."""
        for index in range(self._cursors[kind], len(self._items)):
            if isinstance(self._items[index], kind):
                self._cursors[kind] = index + 1
                return self._items[index]
        self._cursors[kind] = len(self._items)
        return None

    def _record(self, item: Item | None) -> None:
        if item is None:
            self.ended = True
        else:
            self._items.append(item)

    def _timed_out(self, what: str, timeout: float) -> AssertionError:
        return AssertionError(
            f"no {what} within {timeout}s from {self._description}; received so far: {self._items!r}"
        )

    def _ended_before(self, what: str) -> AssertionError:
        return AssertionError(f"{self._description} ended before the next {what}; received: {self._items!r}")


def _deadline(timeout: float) -> float:
    return time.monotonic() + timeout


def _left(deadline: float) -> float:
    return max(0.0, deadline - time.monotonic())


def _headers(kwargs: dict[str, Any]) -> dict[str, Any]:
    # httpx-sse adds its Accept header to the dict it is given; copy it, the caller's may be reused.
    return {**kwargs, "headers": dict(kwargs.get("headers") or {})}


def _not_a_stream(method: str, url: str, response: httpx.Response, body: bytes) -> AssertionError | None:
    content_type = response.headers.get("content-type", "")
    if response.status_code == 200 and content_type.partition(";")[0].strip() == "text/event-stream":
        return None
    return AssertionError(
        f"{method} {url} is not an event stream: {response.status_code} {content_type!r}: {body[:1000]!r}"
    )


def _no_response(method: str, url: str, timeout: float) -> AssertionError:
    return AssertionError(
        f"no response to {method} {url} within {timeout}s. If the client uses httpx.ASGITransport: it "
        "returns only once the whole response is complete, so an endless stream never answers; "
        "read it from a live server (the `live_server` fixture) instead."
    )


class EventStream(_Log):
    """An open event stream, read with an `httpx.AsyncClient`; every read has a deadline."""

    def __init__(self, response: httpx.Response, description: str, timeout: float) -> None:
        super().__init__(response, description, timeout)
        self._source = self._parse(response)
        self._broken = False

    @staticmethod
    async def _parse(response: httpx.Response) -> AsyncIterator[Item]:
        parser = _Parser()
        async for text in response.aiter_text():
            for item in parser.feed(text):
                yield item
        for item in parser.flush():
            yield item

    async def _read(self, deadline: float, what: str, timeout: float) -> None:
        if self._broken:
            raise AssertionError(f"{self._description}: an earlier read timed out; the stream cannot be read on")
        try:
            with anyio.fail_after(_left(deadline)):
                self._record(await anext(self._source, None))
        except TimeoutError:
            # The cancelled read has finalised the parser: nothing more can be read from it.
            self._broken = True
            raise self._timed_out(what, timeout) from None

    async def next_item(self, timeout: float | None = None) -> Item:
        """The next event or comment, whichever comes first (the log's order, not either cursor)."""
        timeout = self.timeout if timeout is None else timeout
        count = len(self._items)
        if not self.ended:
            await self._read(_deadline(timeout), "event or comment", timeout)
        if self.ended and len(self._items) == count:
            raise self._ended_before("event or comment")
        return self._items[-1]

    async def next_event(self, timeout: float | None = None) -> ServerSentEvent:
        """The next event; comments on the way are kept (`comments`) but do not extend the deadline."""
        event = await self._next(ServerSentEvent, "event", timeout)
        assert isinstance(event, ServerSentEvent)
        return event

    async def next_comment(self, timeout: float | None = None) -> str:
        """The text of the next comment, such as a keep-alive ping."""
        comment = await self._next(Comment, "comment", timeout)
        assert isinstance(comment, Comment)
        return comment.text

    async def _next(self, kind: type[Item], what: str, timeout: float | None) -> Item:
        timeout = self.timeout if timeout is None else timeout
        deadline = _deadline(timeout)
        while (item := self._take(kind)) is None:
            if self.ended:
                raise self._ended_before(what)
            await self._read(deadline, what, timeout)
        return item

    async def take(self, count: int, timeout: float | None = None) -> list[ServerSentEvent]:
        """The next `count` events, each within its own deadline."""
        return [await self.next_event(timeout) for _ in range(count)]

    async def remaining(self, timeout: float | None = None) -> list[ServerSentEvent]:
        """Every event until the server ends the stream (a finite one); each read within the deadline."""
        timeout = self.timeout if timeout is None else timeout
        while not self.ended:
            await self._read(_deadline(timeout), "end of the stream", timeout)
        events: list[ServerSentEvent] = []
        while (event := self._take(ServerSentEvent)) is not None:
            assert isinstance(event, ServerSentEvent)
            events.append(event)
        return events


@asynccontextmanager
async def sse_stream(
    client: httpx.AsyncClient, url: str, *, method: str = "GET", timeout: float = DEFAULT_TIMEOUT, **kwargs: Any
) -> AsyncIterator[EventStream]:
    """Open `url` as an event stream; closing the block closes the connection.

    The response must start within `timeout` seconds and be a 200 `text/event-stream`, or the
    test fails saying what came instead. `timeout` is also the default deadline of each read.
    Other keyword arguments go to `client.stream` (`headers`, `params`, ...).
    """
    description = f"{method} {url}"
    async with AsyncExitStack() as stack:
        try:
            with anyio.fail_after(timeout):
                source = await stack.enter_async_context(aconnect_sse(client, method, url, **_headers(kwargs)))
                body = b"" if source.response.status_code == 200 else await source.response.aread()
        except TimeoutError:
            raise _no_response(method, url, timeout) from None
        if (error := _not_a_stream(method, url, source.response, body)) is not None:
            raise error
        yield EventStream(source.response, description, timeout)


_Message = tuple[Literal["open", "item", "end", "error"], Any]


class SyncEventStream(_Log):
    """An open event stream, read with a sync client in a thread of its own; every read has a deadline."""

    def __init__(self, response: httpx.Response, description: str, timeout: float, inbox: "queue.Queue[_Message]"):
        super().__init__(response, description, timeout)
        self._inbox = inbox

    def _read(self, deadline: float, what: str, timeout: float) -> None:
        try:
            kind, value = self._inbox.get(timeout=_left(deadline))
        except queue.Empty:
            raise self._timed_out(what, timeout) from None
        if kind == "error":
            raise value
        self._record(value if kind == "item" else None)

    def next_item(self, timeout: float | None = None) -> Item:
        """The next event or comment, whichever comes first."""
        timeout = self.timeout if timeout is None else timeout
        count = len(self._items)
        if not self.ended:
            self._read(_deadline(timeout), "event or comment", timeout)
        if self.ended and len(self._items) == count:
            raise self._ended_before("event or comment")
        return self._items[-1]

    def next_event(self, timeout: float | None = None) -> ServerSentEvent:
        """The next event; comments on the way are kept (`comments`) but do not extend the deadline."""
        event = self._next(ServerSentEvent, "event", timeout)
        assert isinstance(event, ServerSentEvent)
        return event

    def next_comment(self, timeout: float | None = None) -> str:
        """The text of the next comment, such as a keep-alive ping."""
        comment = self._next(Comment, "comment", timeout)
        assert isinstance(comment, Comment)
        return comment.text

    def _next(self, kind: type[Item], what: str, timeout: float | None) -> Item:
        timeout = self.timeout if timeout is None else timeout
        deadline = _deadline(timeout)
        while (item := self._take(kind)) is None:
            if self.ended:
                raise self._ended_before(what)
            self._read(deadline, what, timeout)
        return item

    def take(self, count: int, timeout: float | None = None) -> list[ServerSentEvent]:
        """The next `count` events, each within its own deadline."""
        return [self.next_event(timeout) for _ in range(count)]

    def remaining(self, timeout: float | None = None) -> list[ServerSentEvent]:
        """Every event until the server ends the stream (a finite one); each read within the deadline."""
        timeout = self.timeout if timeout is None else timeout
        while not self.ended:
            self._read(_deadline(timeout), "end of the stream", timeout)
        events: list[ServerSentEvent] = []
        while (event := self._take(ServerSentEvent)) is not None:
            assert isinstance(event, ServerSentEvent)
            events.append(event)
        return events


def _pump(
    client: httpx.Client, method: str, url: str, kwargs: dict[str, Any], inbox: "queue.Queue[_Message]"
) -> None:
    """The reader thread: open the stream, then pass on everything it sends until it ends or is closed."""
    try:
        with connect_sse(client, method, url, **kwargs) as source:
            response = source.response
            body = b"" if response.status_code == 200 else response.read()
            inbox.put(("open", (response, body)))
            parser = _Parser()
            for text in response.iter_text():
                for item in parser.feed(text):
                    inbox.put(("item", item))
            for item in parser.flush():
                inbox.put(("item", item))
        inbox.put(("end", None))
    except Exception as error:  # handed to the test's thread, which raises it from its next read
        inbox.put(("error", error))


@contextmanager
def sse_stream_sync(
    client: httpx.Client, url: str, *, method: str = "GET", timeout: float = DEFAULT_TIMEOUT, **kwargs: Any
) -> Iterator[SyncEventStream]:
    """`sse_stream` for a sync client, such as Starlette's `TestClient`.

    A blocking read cannot be interrupted, so a thread reads the stream and the test waits for
    what it passes on, with a deadline. Leaving the block closes the response, which ends the
    thread's read (TestClient then cancels the app's request).
    """
    description = f"{method} {url}"
    inbox: queue.Queue[_Message] = queue.Queue()
    reader = threading.Thread(
        target=_pump, args=(client, method, url, _headers(kwargs), inbox), name=f"sse reader: {description}", daemon=True
    )
    reader.start()
    try:
        kind, value = inbox.get(timeout=timeout)
    except queue.Empty:
        raise _no_response(method, url, timeout) from None
    if kind == "error":
        raise value
    response: httpx.Response
    response, body = value
    try:
        if (error := _not_a_stream(method, url, response, body)) is not None:
            raise error
        yield SyncEventStream(response, description, timeout, inbox)
    finally:
        response.close()
        reader.join(timeout)
    if reader.is_alive():
        raise AssertionError(f"{description}: the reader thread did not stop within {timeout}s of closing")
