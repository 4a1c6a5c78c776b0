"""`PROCESSING_MODE=queue`, tested layer by layer: the enqueue, the job alone, the worker in the test.

The real worker processes on Redis, and what happens when they die, are in test_workers.py.
"""

from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from fastapi import FastAPI
from taskiq import TaskiqState

from fastapi_testkit import LifespanClient, eventually, lifespan_client
from processing.app import create_app
from processing.models import Article
from processing.queue import QUEUE_NAME, TASK_NAME, ReclaimingStreamBroker, enqueue, make_broker, process_article
from processing.settings import Settings
from processing.summary import TransientError

from .helpers import PostArticle, wait_for_status

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
