"""`python -m processing.worker`: one worker process of `PROCESSING_MODE=queue` on Redis.

Run as many as the work needs; each takes jobs from the Redis stream, up to
queue.WORKER_CONCURRENCY at a time, and acknowledges a job only once it has ended. A worker
that dies (SIGKILL, a crash) leaves its jobs unacknowledged: another worker takes them after
`PROCESSING_REDELIVERY_DELAY` seconds. SIGTERM or Ctrl-C stop it; jobs running then are
cancelled and record their failure, as a cancelled background task does, before it lets go of
its database.
"""

import asyncio
import contextlib
import logging
import signal
import sys
from typing import Any

import uvloop
from taskiq import AsyncBroker, TaskiqEvents, TaskiqMessage, TaskiqMiddleware, TaskiqState
from taskiq.api import run_receiver_task

from processing.queue import WORKER_CONCURRENCY, make_broker
from processing.settings import Settings
from processing.storage import create_tables
from service_runtime.sql import create_engine, create_sessionmaker

logger = logging.getLogger("processing.worker")

# The name (CLIENT SETNAME) of a worker's Redis connections: the service's, with its role, so
# that CLIENT LIST, and a fault test's kill, tell them from the API's (named `processing`).
WORKER_CLIENT_NAME = "processing-worker"


class RunningJobs(TaskiqMiddleware):
    """The jobs running in this worker. A cancelled listener leaves the jobs it started running:
    the worker's stop cancels them itself, so that each records its failure while the database
    is still open, and none outlives the worker."""

    def __init__(self) -> None:
        super().__init__()
        self.tasks: set[asyncio.Task[Any]] = set()

    def pre_execute(self, message: TaskiqMessage) -> TaskiqMessage:
        task = asyncio.current_task()  # the receiver runs each job in a task of its own
        if task is not None:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return message

    async def cancel(self) -> None:
        """Cancel every running job and wait until each has ended."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def worker_broker(settings: Settings) -> AsyncBroker:
    """The broker, with the startup that gives jobs their database (queue.process_article)."""
    broker = make_broker(settings, client_name=WORKER_CLIENT_NAME)

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def startup(state: TaskiqState) -> None:
        state.engine = create_engine(settings.database_url)
        await create_tables(state.engine)
        state.sessionmaker = create_sessionmaker(state.engine)
        state.settings = settings

    @broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
    async def shutdown(state: TaskiqState) -> None:
        await state.engine.dispose()

    return broker


async def work(settings: Settings) -> None:
    """Take and run jobs until cancelled (SIGTERM, SIGINT)."""
    broker = worker_broker(settings)
    jobs = RunningJobs()
    broker.add_middlewares(jobs)
    broker.is_worker_process = True
    await broker.startup()
    logger.info("worker ready")
    try:
        await run_receiver_task(broker, run_startup=False, max_async_tasks=WORKER_CONCURRENCY)
    finally:
        await jobs.cancel()
        await broker.shutdown()


async def _until_signalled(settings: Settings) -> None:
    task = asyncio.create_task(work(settings))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task


def main() -> None:
    settings = Settings()
    if settings.redis_url is None:
        sys.exit(
            "processing.worker needs PROCESSING_REDIS_URL: without it, queue mode runs its jobs in the API process"
        )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_until_signalled(settings))


if __name__ == "__main__":
    main()
