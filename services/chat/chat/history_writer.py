"""The history writer: room messages reach MongoDB after their members, never before.

The handler publishes first, then hands the message to this writer without waiting (`record`),
and one task of the lifespan stores what has piled up, in batches of one `insert_many` each.
Why not await the insert before the publish: every message would wait one round trip to MongoDB
before any member could have it, a slow or hung database would hold up the room, and a failing
one would close the sender with 1011. The history is a record, not the delivery.

- **Order.** One writer task, first in first out, and `sent_at` stamped in `record` (when the
  message was handed to the members), not when the batch is written: the history of each room
  holds its messages in the order they were published.
- **Overflow.** At most `queue_size` messages wait. Past that, the *oldest* waiting message is
  dropped, counted (`dropped`) and logged (a warning when dropping starts and one when it
  ends, with the count): delivery must never wait on MongoDB, so slowing the sender down is no
  answer, and the newest messages are the ones `GET .../messages` returns.
- **Failure.** A batch the store refuses is lost, counted (`failed`) and logged with its
  traceback; the writer goes on with the next batch, and no connection is closed for it.
- **Shutdown.** `aclose` stores what is still waiting, for `flush_timeout` seconds at most (a
  hung database must not hang the shutdown); what is left then is counted and logged.

A MongoDB that hangs rather than fails holds the writer as long as the driver waits: motor sets
no deadline on an insert unless the URL gives one (`?timeoutMS=5000`), past which the batch fails
as above. Delivery goes on meanwhile; the queue fills and its oldest messages are dropped.
"""

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chat.models import StoredMessage
from chat.storage import History, now

logger = logging.getLogger(__name__)

# Messages per insert_many: enough that a backlog drains in a few round trips, few enough that a
# batch stays far below MongoDB's 48 MB message and 100,000 writes per batch.
BATCH_SIZE = 500


class HistoryWriter:
    """Stores recorded messages in the background, in order; `record` never waits."""

    def __init__(self, history: History, *, queue_size: int, flush_timeout: float) -> None:
        self.history = history
        self.queue_size = queue_size
        self.flush_timeout = flush_timeout
        self.stored = 0  # messages the store took
        self.dropped = 0  # messages dropped unstored because too many were waiting (or after aclose)
        self.failed = 0  # messages in batches the store refused
        # A deque and an event, as in members.py, and not an asyncio.Queue: dropping the oldest
        # is a popleft, and one wake-up takes everything queued by then.
        self._pending: deque[StoredMessage] = deque()
        self._wake = asyncio.Event()
        self._dropping = 0  # dropped since the last warning that dropping has ended
        self._closed = False
        self._in_flight = 0  # messages of the batch being stored
        self._task = asyncio.create_task(self._run(), name="chat.history.writer")

    @property
    def pending(self) -> int:
        """Messages recorded and not yet handed to the store."""
        return len(self._pending)

    def record(self, room_id: str, text: str) -> None:
        """Queue `text`, sent to `room_id` just now, for the history; never waits."""
        if self._closed:  # a handler still running as the lifespan ends: nothing would store it
            self.dropped += 1
            logger.warning("A message to room %r came after the history writer closed; not stored", room_id)
            return
        if len(self._pending) >= self.queue_size:
            self._pending.popleft()
            if self._dropping == 0:  # once per episode: a log line per message would flood the log
                logger.warning("The history is %d messages behind: dropping the oldest unstored ones", self.queue_size)
            self.dropped += 1
            self._dropping += 1
        self._pending.append(StoredMessage(room_id=room_id, text=text, sent_at=now()))
        self._wake.set()

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()  # before storing: what is recorded meanwhile wakes it again
            await self._store_pending()
            if self._closed:  # aclose woke it to flush, and all is stored
                return

    async def _store_pending(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(BATCH_SIZE, len(self._pending)))]
            self._in_flight = len(batch)
            try:
                await self.history.add_many(batch)
            except Exception:
                # The database is down, say. Its messages were delivered; only their history is
                # lost. Retrying would hold every later message behind this batch.
                self.failed += len(batch)
                logger.exception("Could not store %d messages in the history (%d so far)", len(batch), self.failed)
            else:
                self.stored += len(batch)
            self._in_flight = 0
            if self._dropping and len(self._pending) < self.queue_size:
                logger.warning("The history caught up: %d messages were dropped unstored", self._dropping)
                self._dropping = 0

    async def aclose(self) -> None:
        """Store what is waiting, `flush_timeout` seconds at most, then stop."""
        self._closed = True
        self._wake.set()
        try:
            async with asyncio.timeout(self.flush_timeout):
                await self._task  # on the timeout, the task is cancelled with this await
        except TimeoutError:
            lost = self._in_flight + len(self._pending)
            self.dropped += lost
            logger.error("The history was not flushed within %s s: %d messages lost", self.flush_timeout, lost)


@asynccontextmanager
async def open_history_writer(
    history: History, *, queue_size: int, flush_timeout: float
) -> AsyncIterator[HistoryWriter]:
    """A writer storing into `history`; on exit, what it holds is flushed."""
    writer = HistoryWriter(history, queue_size=queue_size, flush_timeout=flush_timeout)
    try:
        yield writer
    finally:
        await writer.aclose()
