"""One reader per topic per process, fanning each event out in memory to that topic's streams.

The first stream of a topic starts a reader task, which holds the topic's one blocking XREAD
and hands each event to every subscriber's buffer; the last stream to leave stops it. Redis
connections grow with topics, not with subscribers: an XREAD BLOCK per stream would hold a
connection per subscriber (1,000 subscribers, 1,000 connections).

A subscriber that does not keep up (its client reads slower than events come) cannot hold the
others back: its buffer is bounded, and past it the subscriber is dropped. Its stream sends what
it holds, then ends; the client resumes with Last-Event-ID and misses nothing that is kept.

Joining without gaps or duplicates: a subscriber starts after an id fixed before its response
starts (`after`). The reader hands out every event after its own cursor. If `after` is older
than the cursor, the events in between are read with XRANGE (a replay, a few at a time through
a bounded number of slots, so a reconnect storm cannot open a connection per client); the rest
come from the reader. Ids are compared as `(milliseconds, sequence)`, never as text.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from events.storage import StoredEvent, TopicStreams, order

logger = logging.getLogger(__name__)


class Subscriber:
    """One open stream's share of its topic: the events it has yet to send, in order, each once."""

    # One per open stream, 10,000 of them idle on a busy topic (bench: events-idle), so nothing
    # an idle one does not need: slots, no __dict__; the live buffer made at its first event (an
    # empty deque is 600 bytes); a bare future to wake it, made only while it waits, instead of an
    # asyncio.Event (an object and a deque of waiters, for ever). 1.3 KB a stream in all.
    __slots__ = ("_ended", "_hub", "_limit", "_live", "_newest", "_replay", "_started", "_waiter", "dropped", "topic")

    def __init__(self, hub: "TopicHub", topic: str, after: str, *, limit: int) -> None:
        self._hub, self.topic, self._limit = hub, topic, limit
        self._newest = order(after)  # the newest id sent or queued: an offer at or before it is a duplicate
        self._replay: tuple[str, str] | None = None  # (after, up to): what to read with XRANGE first
        self._live: deque[StoredEvent] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._started = self._ended = False
        self.dropped = False

    def start(self, cursor: str) -> None:
        """The reader hands out every event after `cursor`; what lies between our start and it is a replay."""
        if self._newest < order(cursor):
            self._replay = ("{}-{}".format(*self._newest), cursor)
            self._newest = order(cursor)
        self._started = True
        self._wake()

    def offer(self, event: StoredEvent) -> bool:
        """Queue a live event (the reader calls this). False: the buffer was full, and we are dropped."""
        if order(event.id) <= self._newest:
            return True
        if self._live is None:
            self._live = deque()
        if len(self._live) >= self._limit:
            self.dropped = True
            self.end()
            return False
        self._live.append(event)
        self._newest = order(event.id)
        self._wake()
        return True

    def end(self) -> None:
        """No more live events: send what is queued, then end (the client resumes with Last-Event-ID)."""
        self._ended = True
        self._wake()

    async def events(self, keepalive: float) -> AsyncGenerator[StoredEvent | None]:
        """Each event once and in order, `None` after `keepalive` seconds of silence; returns when ended."""
        while not self._started:
            if self._ended:
                return
            if not await self._wait(keepalive):
                yield None
        if self._replay is not None:
            after, upto = self._replay
            while page := await self._hub.replay_page(self.topic, after, upto):
                for event in page:
                    yield event
                after = page[-1].id
            self._replay = None
        while True:
            while self._live:
                yield self._live.popleft()
            if self._ended:
                return
            if not await self._wait(keepalive):
                yield None

    async def _wait(self, seconds: float) -> bool:
        """Wait for an offer, a start or the end; False after `seconds` without one."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(seconds):
                await self._waiter
        except TimeoutError:
            return False
        finally:
            self._waiter = None
        return True

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


@dataclass(eq=False)
class _Reader:
    """A topic's reader: its task, its subscribers, and the newest id it has handed out."""

    subscribers: set[Subscriber] = field(default_factory=set)
    cursor: str | None = None  # None until the reader has asked Redis where the topic ends
    task: "asyncio.Task[None] | None" = None
    stopped: bool = False


class TopicHub:
    """The readers of this process, one per topic with open streams."""

    def __init__(self, streams: TopicStreams, *, block: float, buffer: int, replay_slots: int) -> None:
        self.streams, self._block = streams, block
        self.buffer, self.replay_slots = buffer, replay_slots
        self._readers: dict[str, _Reader] = {}
        # Every reader task until it has finished, stopped ones included: the lifespan waits for
        # them all before it closes the Redis client they read from.
        self._tasks: set[asyncio.Task[None]] = set()
        # The reads a stream makes to start (where its topic ends; a replay's pages) take turns:
        # without them a burst of new streams opens a pooled connection each (51 for 2,000
        # subscribers on one topic), which the pool then keeps.
        self._lookup_turns = asyncio.Semaphore(replay_slots)

    def readers(self) -> int:
        """Topics being read (each one blocking XREAD, one Redis connection)."""
        return len(self._readers)

    def attached(self, topic: str) -> int:
        """Subscribers the topic's reader hands events to (a dropped one no longer counts)."""
        reader = self._readers.get(topic)
        return len(reader.subscribers) if reader else 0

    @contextmanager
    def subscribe(self, topic: str, after: str) -> Iterator[Subscriber]:
        """A subscriber of `topic` that starts after the id `after`, attached while the block runs.

        Synchronous on purpose, in and out: from the moment it returns, the subscriber gets every
        event after `after`; and leaving runs to the end even while the request is being
        cancelled (an `await` there could itself be cancelled and leave the reader running).
        """
        reader = self._readers.get(topic)
        if reader is None:
            reader = self._readers[topic] = _Reader()
            reader.task = asyncio.create_task(self._read(topic, reader), name=f"events reader: {topic}")
            self._tasks.add(reader.task)
            reader.task.add_done_callback(self._tasks.discard)
        subscriber = Subscriber(self, topic, after, limit=self.buffer)
        reader.subscribers.add(subscriber)
        if reader.cursor is not None:
            subscriber.start(reader.cursor)
        try:
            yield subscriber
        finally:
            reader.subscribers.discard(subscriber)
            if not reader.subscribers and self._readers.get(topic) is reader:
                self._stop(topic, reader)

    async def last_id(self, topic: str) -> str:
        """Where `topic` ends now (a new stream starts there), at most `replay_slots` lookups at once."""
        async with self._lookup_turns:
            return await self.streams.last_id(topic)

    async def resume_after(self, topic: str, after: str) -> str:
        """Where a stream resumed after the id `after` starts: there, or where `topic` ends if
        `after` lies beyond it.

        A Last-Event-ID beyond the newest event (from a server whose clock ran ahead, or from
        another topic) taken as it is would count every event up to it as sent: a stream that
        stays silent, possibly for ever. A refusal would be final (an EventSource gives up on a
        4xx), so it starts from now, with a warning. No lookup when the topic's reader is already
        past `after` (the usual resume); a lookup that fails keeps `after`: the stream starts, and
        ends cleanly as its reader does.
        """
        reader = self._readers.get(topic)
        if reader is not None and reader.cursor is not None and order(after) <= order(reader.cursor):
            return after
        try:
            newest = await self.last_id(topic)
        except (RedisConnectionError, RedisTimeoutError):
            return after
        if order(after) <= order(newest):
            return after
        logger.warning(
            "a stream of %r resumed after %s, beyond the newest event (%s): it starts there", topic, after, newest
        )
        return newest

    async def replay_page(self, topic: str, after: str, upto: str) -> list[StoredEvent]:
        """Events after `after` up to `upto`, a page at a time, at most `replay_slots` reads at once."""
        async with self._lookup_turns:
            return await self.streams.range(topic, after, upto)

    async def aclose(self) -> None:
        """Stop every reader and wait until each has finished (the lifespan's end); their streams end."""
        for topic, reader in list(self._readers.items()):
            self._stop(topic, reader)
        # Cancelled again until done: on Python 3.11, asyncio.wait_for (which fakeredis waits
        # with) swallows a cancellation that arrives as its wait completes, and the reader reads on.
        for _ in range(100):
            if not self._tasks:
                return
            for task in self._tasks:
                task.cancel()
            await asyncio.wait(self._tasks, timeout=0.05)
        logger.error("readers still running after 5 s: %s", self._tasks)

    def _stop(self, topic: str, reader: _Reader) -> None:
        self._detach(topic, reader)
        reader.stopped = True  # ends the loop after this read even if a library swallows the cancel
        if reader.task is not None:
            reader.task.cancel()  # redis-py drops the connection blocked in XREAD

    def _detach(self, topic: str, reader: _Reader) -> None:
        """The next stream of `topic` starts a new reader; the subscribers of this one end."""
        if self._readers.get(topic) is reader:
            del self._readers[topic]
        for subscriber in reader.subscribers:
            subscriber.end()

    async def _read(self, topic: str, reader: _Reader) -> None:
        try:
            reader.cursor = await self.streams.last_id(topic)
            for subscriber in reader.subscribers:
                subscriber.start(reader.cursor)
            while not reader.stopped:
                for event in await self.streams.read(topic, reader.cursor, block=self._block):
                    self._fan_out(topic, reader, event)
        except (RedisConnectionError, RedisTimeoutError) as error:
            # End the topic's streams cleanly rather than with a broken response; an EventSource
            # reconnects by itself, with Last-Event-ID, and the next stream starts a new reader.
            logger.warning("ending the streams of %r: Redis is unavailable (%s)", topic, error)
            self._detach(topic, reader)

    def _fan_out(self, topic: str, reader: _Reader, event: StoredEvent) -> None:
        for subscriber in list(reader.subscribers):
            if not subscriber.offer(event):
                logger.warning("dropped a subscriber of %r: %d events behind", topic, self.buffer)
                reader.subscribers.discard(subscriber)
        reader.cursor = event.id
