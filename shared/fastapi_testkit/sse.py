"""Read Server-Sent Events in tests with httpx-sse, every read with a deadline.

`sse_stream(client, url)` opens a stream with an `httpx.AsyncClient`: the kit's in-process
`client` for a finite stream, or a client of `live_server.url` for an endless one (the
in-process transport returns only once a response is complete, so an endless stream never
opens through it). `sse_stream_sync` does the same with Starlette's `TestClient`, which
streams. Events are httpx-sse's `ServerSentEvent`. What the kit adds to httpx-sse:

- a deadline on opening and on every read, so a stream that stops sending fails the test
  with what it received so far instead of hanging it (`fastapi_testkit.timeouts.ReceiveTimeout`,
  as the WebSocket helpers raise: a `TimeoutError` and an `AssertionError`);
- a clear failure when the answer is not a 200 `text/event-stream`, with the status and body;
- a reader that runs beside the test (a task; a thread for the sync client, whose blocking
  reads cannot be given a deadline otherwise), so a read that timed out leaves the stream
  readable: a test can check that nothing came, then go on;
- no empty events: a browser dispatches no event without data, but httpx-sse 0.4 yields one
  for every comment (such as a keep-alive ping) once the stream has sent an `id`.

Comments (`: ping`) are not events and are not returned; to see them, read the response text.
"""

# ASYNC109 prefers callers wrapping a call in a cancel scope; here the deadline is the helpers'
# whole job, and it must end in an AssertionError that says what was received, not a cancellation.
# ruff: noqa: ASYNC109

import asyncio
import queue
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse, connect_sse

from fastapi_testkit.timeouts import ReceiveTimeout, receive_timeout

DEFAULT_TIMEOUT = 5.0


class _End:
    """What the reader passes on when the server has ended the stream."""


_Item = ServerSentEvent | _End | Exception


def _is_event_stream(response: httpx.Response) -> bool:
    content_type = response.headers.get("content-type", "").partition(";")[0].strip()
    return response.status_code == 200 and content_type == "text/event-stream"


def _not_a_stream(description: str, response: httpx.Response) -> AssertionError:
    content_type = response.headers.get("content-type", "")
    return AssertionError(
        f"{description} is not an event stream: {response.status_code} {content_type!r} {response.content[:1000]!r}"
    )


class _Stream:
    """What both kinds of stream share: the response, what was received, the failures."""

    def __init__(self, response: httpx.Response, description: str, timeout: float) -> None:
        self.response = response
        self.timeout = timeout
        self.received: list[ServerSentEvent] = []
        """Every event read so far, in order."""
        self.ended = False
        self._description = description

    def _accept(self, item: _Item) -> ServerSentEvent:
        if isinstance(item, Exception):
            raise item
        if isinstance(item, _End):
            self.ended = True
            raise self._ended()
        self.received.append(item)
        return item

    def _ended(self) -> AssertionError:
        return AssertionError(f"{self._description} ended before the next event; received: {self.received!r}")

    def _timed_out(self, timeout: float) -> ReceiveTimeout:
        return receive_timeout("event", timeout, self._description, self.received)


class EventStream(_Stream):
    """An open stream read by a task of its own; each method waits at most its `timeout`."""

    def __init__(self, response: httpx.Response, description: str, timeout: float) -> None:
        super().__init__(response, description, timeout)
        self._inbox: asyncio.Queue[_Item] = asyncio.Queue()

    async def _get(self, timeout: float, deadline: float) -> _Item:
        if self.ended:
            raise self._ended()
        try:
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                return await self._inbox.get()
        except TimeoutError:
            raise self._timed_out(timeout) from None

    async def next_event(self, timeout: float | None = None) -> ServerSentEvent:
        """The next event; `ReceiveTimeout` if none comes within the deadline, `AssertionError` if the stream ends."""
        timeout = self.timeout if timeout is None else timeout
        return self._accept(await self._get(timeout, time.monotonic() + timeout))

    async def take(self, count: int, timeout: float | None = None) -> list[ServerSentEvent]:
        """The next `count` events, each within the deadline."""
        return [await self.next_event(timeout) for _ in range(count)]

    async def remaining(self, timeout: float | None = None) -> list[ServerSentEvent]:
        """Every event until the server ends the stream (a finite one), all within the deadline."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        events: list[ServerSentEvent] = []
        while not isinstance(item := await self._get(timeout, deadline), _End):
            events.append(self._accept(item))
        self.ended = True
        return events

    async def _read(self, events: AsyncIterator[ServerSentEvent]) -> None:
        try:
            async for event in events:
                if event.data:
                    self._inbox.put_nowait(event)
            self._inbox.put_nowait(_End())
        except Exception as error:  # raised in the test by its next read
            self._inbox.put_nowait(error)


@asynccontextmanager
async def sse_stream(
    client: httpx.AsyncClient, url: str, *, method: str = "GET", timeout: float = DEFAULT_TIMEOUT, **kwargs: Any
) -> AsyncIterator[EventStream]:
    """Open `url` as an event stream; leaving the block closes the connection.

    The response must start within `timeout` seconds and be a 200 `text/event-stream`, or the
    test fails saying what came instead. `timeout` is also each read's default deadline. Other
    keyword arguments go to `client.stream` (`headers`, `params`, ...).
    """
    description = f"{method} {url}"
    # httpx-sse sets its Accept header in the dict it is given: a copy, the caller's may be reused.
    kwargs["headers"] = dict(kwargs.get("headers") or {})
    async with AsyncExitStack() as stack:
        try:
            async with asyncio.timeout(timeout):
                source = await stack.enter_async_context(aconnect_sse(client, method, url, **kwargs))
                if not _is_event_stream(source.response):
                    await source.response.aread()
        except TimeoutError:
            raise ReceiveTimeout(
                f"no response to {description} within {timeout}s. Over httpx.ASGITransport an endless stream "
                "never answers: it returns only complete responses. Read it from the `live_server` fixture instead."
            ) from None
        if not _is_event_stream(source.response):
            raise _not_a_stream(description, source.response)
        stream = EventStream(source.response, description, timeout)
        reader = asyncio.create_task(stream._read(source.aiter_sse()), name=f"sse reader: {description}")
        try:
            yield stream
        finally:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)


class SyncEventStream(_Stream):
    """An open stream read by a thread of its own; each method waits at most its `timeout`."""

    def __init__(self, response: httpx.Response, description: str, timeout: float, inbox: "queue.Queue[Any]") -> None:
        super().__init__(response, description, timeout)
        self._inbox = inbox

    def _get(self, timeout: float, deadline: float) -> _Item:
        if self.ended:
            raise self._ended()
        try:
            item: _Item = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise self._timed_out(timeout) from None
        return item

    def next_event(self, timeout: float | None = None) -> ServerSentEvent:
        """The next event; `ReceiveTimeout` if none comes within the deadline, `AssertionError` if the stream ends."""
        timeout = self.timeout if timeout is None else timeout
        return self._accept(self._get(timeout, time.monotonic() + timeout))

    def take(self, count: int, timeout: float | None = None) -> list[ServerSentEvent]:
        """The next `count` events, each within the deadline."""
        return [self.next_event(timeout) for _ in range(count)]

    def remaining(self, timeout: float | None = None) -> list[ServerSentEvent]:
        """Every event until the server ends the stream (a finite one), all within the deadline."""
        timeout = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + timeout
        events: list[ServerSentEvent] = []
        while not isinstance(item := self._get(timeout, deadline), _End):
            events.append(self._accept(item))
        self.ended = True
        return events


def _read_in_thread(
    client: httpx.Client, method: str, url: str, kwargs: dict[str, Any], inbox: "queue.Queue[Any]"
) -> None:
    """The reader thread: the response first, then each event, then the end (or an exception)."""
    try:
        with connect_sse(client, method, url, **kwargs) as source:
            if not _is_event_stream(source.response):
                source.response.read()
            inbox.put(source.response)
            if _is_event_stream(source.response):
                for event in source.iter_sse():
                    if event.data:
                        inbox.put(event)
        inbox.put(_End())
    except Exception as error:  # raised in the test by its next read
        inbox.put(error)


@contextmanager
def sse_stream_sync(
    client: httpx.Client, url: str, *, method: str = "GET", timeout: float = DEFAULT_TIMEOUT, **kwargs: Any
) -> Iterator[SyncEventStream]:
    """`sse_stream` for Starlette's `TestClient` (or another sync client of an app it does not block).

    Leaving the block closes the response, which ends the thread's read; with TestClient that
    also cancels the app's request, as a client going away would.
    """
    description = f"{method} {url}"
    kwargs["headers"] = dict(kwargs.get("headers") or {})
    inbox: queue.Queue[Any] = queue.Queue()
    reader = threading.Thread(
        target=_read_in_thread, args=(client, method, url, kwargs, inbox), name=f"sse reader: {description}"
    )
    reader.daemon = True  # a server that never answers must not keep the test run alive
    reader.start()
    try:
        first = inbox.get(timeout=timeout)
    except queue.Empty:
        raise ReceiveTimeout(f"no response to {description} within {timeout}s") from None
    if isinstance(first, Exception):
        raise first
    response: httpx.Response = first  # the thread's first message: the response, or why there is none
    if not _is_event_stream(response):
        raise _not_a_stream(description, response)
    try:
        yield SyncEventStream(response, description, timeout, inbox)
    finally:
        response.close()
        reader.join(timeout)
