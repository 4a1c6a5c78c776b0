"""`PROCESSING_MODE=queue`, tested layer by layer: the enqueue, the job alone, the worker in the test,
and the Redis broker's listener on fakeredis when Redis loses its data or stops answering.

The real worker processes on Redis, and what happens when they die, are in test_workers.py.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from fakeredis import FakeAsyncRedis, FakeAsyncRedisConnection, FakeServer
from fastapi import FastAPI
from redis.asyncio import Redis
from taskiq import AsyncBroker, TaskiqState
from taskiq.api import run_receiver_task

from fastapi_testkit import LifespanClient, eventually, lifespan_client
from processing import worker
from processing.app import create_app
from processing.models import Article
from processing.queue import (
    QUEUE_NAME,
    TASK_NAME,
    WORKER_CONCURRENCY,
    ReclaimingStreamBroker,
    enqueue,
    make_broker,
    process_article,
)
from processing.settings import Settings
from processing.summary import TransientError

from .helpers import GatedSummarizer, PostArticle, wait_for_status

pytestmark = pytest.mark.background


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    """The suite's app in queue mode, on the in-memory broker: jobs run in this process."""
    return create_app(settings.model_copy(update={"mode": "queue"}))


async def test_the_trigger_enqueues_the_job_with_the_id_only(client: LifespanClient, post_article: PostArticle) -> None:
    """Worked example 1: assert what was enqueued, running nothing (the broker's `kick` patched)."""
    article = await post_article()
    broker = client.state["broker"]

    with patch.object(broker, "kick", new=AsyncMock()) as kick:
        response = await client.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    assert kick.await_args is not None
    sent = kick.await_args.args[0]
    assert sent.task_name == TASK_NAME
    assert broker.formatter.loads(sent.message).args == [article["id"]]
    # Claimed in the request; nothing ran, so it stays `processing`.
    assert (await client.get(f"/api/articles/{article['id']}")).json()["status"] == "processing"


async def test_on_redis_the_job_goes_to_the_processing_stream(settings: Settings) -> None:
    """The same, for the durable broker: the stream (queue) it is added to. Never started, so
    no server is needed; XADD is replaced."""
    broker = make_broker(settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    assert isinstance(broker, ReclaimingStreamBroker)

    with patch("redis.asyncio.Redis.xadd", new=AsyncMock()) as xadd:
        await enqueue(broker, 7)

    assert xadd.await_args is not None
    stream, fields = xadd.await_args.args
    assert stream == QUEUE_NAME == broker.queue_name
    assert broker.formatter.loads(fields[b"data"]).args == [7]
    await broker.shutdown()


async def test_the_job_alone_with_the_summariser_replaced(client: LifespanClient, settings: Settings) -> None:
    """Worked example 2: the job function called directly, its state built by the test."""
    sessionmaker = client.state["sessionmaker"]
    async with sessionmaker() as session:
        article = Article(title="T", content="Content to summarise.")
        session.add(article)
        await session.commit()
    summarize = AsyncMock(return_value="Replaced summary")
    state = TaskiqState()
    state.settings = settings.model_copy(update={"summarizer": summarize})
    state.sessionmaker = sessionmaker

    await process_article(article.id, state)

    summarize.assert_awaited_once_with("Content to summarise.")
    processed = (await client.get(f"/api/articles/{article.id}")).json()
    assert (processed["status"], processed["summary"]) == ("processed", "Replaced summary")


async def test_the_worker_in_the_test_processes_a_triggered_article(
    client: LifespanClient, post_article: PostArticle
) -> None:
    """Worked example 3: the in-memory broker runs the job in this process after the 202."""
    article = await post_article(content="A queued job. It runs in this process. It ends processed.")

    response = await client.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    processed = await wait_for_status(client, article["id"], "processed")
    assert processed["summary"] == "A queued job. It runs in this process."


class FlakySummarizer:
    """Fails with `error` the first `failures` times, then summarises; counts its calls."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error, self.calls = failures, error, 0

    async def __call__(self, content: str) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return f"summary after {self.calls} attempts"


async def run_in_queue_mode(settings: Settings, summarizer: Any) -> dict[str, Any]:
    """Trigger one article in queue mode with `summarizer`; return it once it has finished."""
    app = create_app(settings.model_copy(update={"mode": "queue", "summarizer": summarizer}))
    async with lifespan_client(app) as client:
        created = (await client.post("/api/articles/", json={"title": "T", "content": "C."})).json()
        response = await client.post(f"/api/articles/{created['id']}/process")
        assert response.status_code == 202, response.text
        article: dict[str, Any] = {}

        async def finished() -> bool:
            nonlocal article
            article = (await client.get(f"/api/articles/{created['id']}")).json()
            return bool(article["status"] in {"processed", "failed"})

        await eventually(finished, timeout=10, message="the article never finished")
    return article


@pytest.mark.parametrize("error", [TransientError("model overloaded"), TimeoutError("upstream"), ConnectionError()])
async def test_a_summariser_that_fails_twice_then_succeeds_ends_processed(settings: Settings, error: Exception) -> None:
    flaky = FlakySummarizer(failures=2, error=error)

    article = await run_in_queue_mode(settings, flaky)

    assert (article["status"], article["summary"], article["error"]) == ("processed", "summary after 3 attempts", None)
    assert flaky.calls == 3


async def test_a_summariser_that_always_fails_ends_failed_after_the_configured_attempts(settings: Settings) -> None:
    always = FlakySummarizer(failures=99, error=TransientError("model overloaded"))

    article = await run_in_queue_mode(settings.model_copy(update={"max_attempts": 4}), always)

    assert (article["status"], article["error"]) == ("failed", "TransientError: model overloaded")
    assert always.calls == 4


async def test_an_error_that_would_fail_again_is_not_retried(settings: Settings) -> None:
    broken = FlakySummarizer(failures=99, error=ValueError("content the model refuses"))

    article = await run_in_queue_mode(settings, broken)

    assert (article["status"], article["error"]) == ("failed", "ValueError: content the model refuses")
    assert broken.calls == 1


async def test_background_mode_retries_the_same_way(settings: Settings) -> None:
    """One retry policy: the suite's app is in queue mode here, so build a background one."""
    flaky = FlakySummarizer(failures=2, error=TransientError("blip"))
    app = create_app(settings.model_copy(update={"summarizer": flaky}))
    async with lifespan_client(app) as background:
        created = (await background.post("/api/articles/", json={"title": "T", "content": "C."})).json()
        await background.post(f"/api/articles/{created['id']}/process")
        article = (await background.get(f"/api/articles/{created['id']}")).json()

    assert (article["status"], flaky.calls) == ("processed", 3)


@asynccontextmanager
async def listening(broker: AsyncBroker, client: LifespanClient, settings: Settings) -> AsyncIterator[None]:
    """`broker`'s listener running in the test, as a worker runs it (worker.py), its jobs using
    the database of the suite's app; stopped on exit."""
    broker.state.settings = settings
    broker.state.sessionmaker = client.state["sessionmaker"]
    await broker.startup()
    listener = asyncio.create_task(run_receiver_task(broker, max_async_tasks=WORKER_CONCURRENCY))
    try:
        yield
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await broker.shutdown()


def listens(caplog: pytest.LogCaptureFixture) -> int:
    """How many times taskiq started a listener: once, unless one failed and was started again."""
    return sum(record.getMessage() == "Listening started." for record in caplog.records)


def fake_broker(settings: Settings, server: FakeServer) -> AsyncBroker:
    """The Redis broker of queue mode, its connections to fakeredis's `server`."""
    on_redis = settings.model_copy(update={"mode": "queue", "redis_url": "redis://fakeredis/0"})
    return make_broker(on_redis, connection_class=FakeAsyncRedisConnection, server=server)


async def test_the_stream_broker_goes_on_when_redis_loses_its_data(
    client: LifespanClient, post_article: PostArticle, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis restarted without its data (here FLUSHDB) has lost the stream and its consumer
    group: the listener declares the group again and the next job runs, where every read would
    fail with NOGROUP and taskiq restart the listener in a tight loop, running nothing."""
    server = FakeServer()
    broker = fake_broker(settings, server)
    caplog.set_level(logging.INFO, logger="taskiq")
    async with listening(broker, client, settings):
        before = await post_article(content="Before the flush.")
        await enqueue(broker, before["id"])
        await wait_for_status(client, before["id"], "processed")
        async with FakeAsyncRedis(server=server) as redis:
            await redis.flushdb()
        after = await post_article(content="After the flush.")
        await enqueue(broker, after["id"])
        processed = await wait_for_status(client, after["id"], "processed")

    assert processed["summary"] == "After the flush."
    assert listens(caplog) == 1
    assert "consumer group 'processing' missing (Redis restarted?); creating it again" in caplog.messages


async def test_the_stream_broker_waits_for_a_redis_it_cannot_reach(
    client: LifespanClient, post_article: PostArticle, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """A Redis that is down fails every read at once: the listener reads again after a delay
    that doubles, and runs jobs again once Redis is back, where taskiq would restart it in a
    tight loop, a core busy logging tracebacks."""
    server = FakeServer()
    broker = fake_broker(settings, server)
    caplog.set_level(logging.INFO, logger="taskiq")

    def delays() -> list[str]:
        return [m.split(" in ")[-1] for m in caplog.messages if m.startswith("reading from Redis failed")]

    async def waited_three_times() -> bool:
        return len(delays()) >= 3

    async with listening(broker, client, settings):
        server.connected = False
        await eventually(waited_three_times, timeout=10, message="the listener never read again")
        server.connected = True
        article = await post_article(content="Redis is back.")
        await enqueue(broker, article["id"])
        processed = await wait_for_status(client, article["id"], "processed")

    assert processed["summary"] == "Redis is back."
    assert delays()[:3] == ["0.1 s", "0.2 s", "0.4 s"]
    assert listens(caplog) == 1


async def test_the_stream_broker_deletes_each_finished_job_from_the_stream(
    client: LifespanClient, post_article: PostArticle, settings: Settings
) -> None:
    """A finished job is acknowledged and deleted from the stream (XDEL): acknowledged only,
    every entry would stay in the stream for ever, and it would grow with every job."""
    server = FakeServer()
    broker = fake_broker(settings, server)
    assert isinstance(broker, ReclaimingStreamBroker)
    async with listening(broker, client, settings), Redis(connection_pool=broker.connection_pool) as redis:
        ids = [(await post_article(content=f"Job {n}."))["id"] for n in range(5)]
        for article_id in ids:
            await enqueue(broker, article_id)
        for article_id in ids:
            await wait_for_status(client, article_id, "processed")

        async def drained() -> bool:
            pending = await redis.xpending(QUEUE_NAME, QUEUE_NAME)
            assert (await redis.xlen(QUEUE_NAME), pending["pending"]) == (0, 0)
            return True

        await eventually(drained, message="finished jobs stayed in the stream")


async def test_retries_wait_the_doubling_delay_no_longer(settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    """Before attempt n+1 the job waits about retry_delay x 2^(n-1): never longer (the lease
    and redelivery delay are checked against that back-off, Settings.job_budget), and no less
    than a jitter could take off it. Bounds, not exact values, read from the job's log."""
    caplog.set_level(logging.WARNING, logger="processing.tasks")
    base = 0.02
    scaled = settings.model_copy(update={"retry_delay": base, "max_attempts": 4})

    article = await run_in_queue_mode(scaled, FlakySummarizer(failures=99, error=TransientError("busy")))

    assert article["status"] == "failed"
    delays = [float(m.split(" again in ")[1].removesuffix(" s")) for m in caplog.messages if " again in " in m]
    assert len(delays) == 3
    for attempt, delay in enumerate(delays, start=1):
        nominal = base * 2 ** (attempt - 1)
        assert JITTER_FLOOR * nominal <= delay <= nominal, (attempt, delays)
    assert sum(delays) <= scaled.job_budget() - scaled.max_attempts * scaled.summary_timeout


# The least share of its nominal back-off a retry may wait: room for a jitter, and still above
# half, which is what the exponent one too low would give.
JITTER_FLOOR = 0.75


class ShutdownGatedSummarizer:
    """Summarises only once `shutdown` is set, and `SECONDS` after: a job still running when
    the app begins to shut down. `started` is set on its call."""

    SECONDS = 1.0

    def __init__(self) -> None:
        self.started, self.shutdown = asyncio.Event(), asyncio.Event()

    async def __call__(self, content: str) -> str:
        self.started.set()
        await self.shutdown.wait()
        await asyncio.sleep(self.SECONDS)
        return f"finished during shutdown: {content}"


async def test_a_job_of_the_in_memory_broker_running_at_shutdown_is_finished(settings: Settings) -> None:
    """Queue mode without Redis runs jobs in the API process: shutdown waits for a running job
    (up to runners.JOBS_SHUTDOWN_GRACE), so it ends `processed` by the time the app has stopped,
    not cut off with its article left `processing` or `failed`."""
    summarizer = ShutdownGatedSummarizer()
    scaled = settings.model_copy(update={"mode": "queue", "summarizer": summarizer})
    async with lifespan_client(create_app(scaled)) as client:
        created = (await client.post("/api/articles/", json={"title": "T", "content": "C."})).json()
        assert (await client.post(f"/api/articles/{created['id']}/process")).status_code == 202
        async with asyncio.timeout(10):
            await summarizer.started.wait()
        summarizer.shutdown.set()  # the lifespan's exit, below, is the shutdown

    async with lifespan_client(create_app(scaled)) as after:
        article = (await after.get(f"/api/articles/{created['id']}")).json()
    assert (article["status"], article["summary"]) == ("processed", "finished during shutdown: C.")


async def test_a_worker_stopped_mid_job_records_the_job_cancelled(
    client: LifespanClient, post_article: PostArticle, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM cancels `worker.work` (worker._until_signalled): the running job is cancelled, and
    by the time `work` has returned its article has ended `failed` ("cancelled"), which the
    client sees and may trigger again, not left `processing` until its lease is over
    (docs/processing.md). Here on fakeredis, the task cancelled by the test; test_workers.py
    sends the signal to a real process."""
    server = FakeServer()
    monkeypatch.setattr(
        worker, "make_broker", partial(make_broker, connection_class=FakeAsyncRedisConnection, server=server)
    )
    gated = GatedSummarizer()
    on_redis = settings.model_copy(update={"mode": "queue", "redis_url": "redis://fakeredis/0", "summarizer": gated})
    running = asyncio.create_task(worker.work(on_redis))
    sender = fake_broker(settings, server)  # the API's side of the queue
    try:
        article = await post_article(content="Stopped mid-job.")
        await enqueue(sender, article["id"])
        await gated.wait_started()
    finally:
        await sender.shutdown()
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    stopped = (await client.get(f"/api/articles/{article['id']}")).json()
    assert (stopped["status"], stopped["error"]) == ("failed", "CancelledError: processing was cancelled")
    again = await client.post(f"/api/articles/{article['id']}/process")
    assert again.status_code == 202, again.text
