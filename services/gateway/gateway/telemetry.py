"""Telemetry off the request path: Prometheus metrics, and the SQL request log written in batches.

A request only updates counters in memory and puts its log entry on a bounded queue; a lifespan
task writes the queue to SQL, as many entries per commit as are waiting: a commit per request,
on the request path, would cost more than the proxying.
"""

import asyncio
import logging
from contextlib import suppress
from dataclasses import asdict, dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gateway.models import ProxiedRequest

logger = logging.getLogger(__name__)


class Metrics:
    """The gateway's metrics, in a registry of the app's own (each test's app has its own)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("gateway_requests", "Proxied requests", ["service", "status"], registry=self.registry)
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Time to the upstream's response headers",
            ["service", "status"],
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "gateway_request_log_dropped", "Log entries dropped because the queue was full", registry=self.registry
        )

    def observe(self, service: str, status: int, seconds: float) -> None:
        self.requests.labels(service, str(status)).inc()
        self.latency.labels(service, str(status)).observe(seconds)


@dataclass(frozen=True)
class Entry:
    method: str
    service: str
    path: str
    status: int
    duration_ms: float


class RequestLog:
    """A bounded queue of log entries and the task that writes them to SQL in batches.

    A full queue drops the entry (counted in `gateway_request_log_dropped_total`) rather than
    slow the request down: the log is for statistics, the request is what the client waits for.
    """

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], metrics: Metrics, *, queue_size: int, batch_size: int
    ) -> None:
        self.sessionmaker, self.metrics, self.batch_size = sessionmaker, metrics, batch_size
        self.queue: asyncio.Queue[Entry] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None

    def add(self, entry: Entry) -> None:
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            self.metrics.log_dropped.inc()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gateway-request-log")

    async def flush(self) -> None:
        """Wait until every entry queued so far is written (or failed and logged)."""
        await self.queue.join()

    async def aclose(self) -> None:
        """Write what is queued, then stop the writer: shutdown loses no entry."""
        await self.flush()
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.batch_size and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    async def _write(self, batch: list[Entry]) -> None:
        rows = [asdict(entry) | {"path": entry.path[:2048]} for entry in batch]
        try:
            async with self.sessionmaker() as session:
                await session.execute(insert(ProxiedRequest), rows)
                await session.commit()
        except (SQLAlchemyError, OSError):
            # Losing statistics must not stop the writer: the next batch may well succeed.
            logger.exception("could not write %d request log entries", len(rows))
