"""The background task as a unit: queued with the right arguments, and run directly.

The first two tests are the article's, corrected. The others run `process_article_async`
directly to prove that, whatever the summariser does, the article ends `processed` or
`failed`, never stuck in `processing`. The article's section in its smallest form (the task
given an id and a sessionmaker, its effect asserted through the trigger, no test kit):
examples/background_tasks/ at the repository root.
"""

import asyncio
import logging
from unittest.mock import AsyncMock, patch

import anyio
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from fastapi_testkit import LifespanClient
from processing.models import Article, Status
from processing.settings import Settings
from processing.storage import Claim, claim
from processing.tasks import MAX_ERROR_LENGTH, RetryPolicy, describe, process_article_async

from .helpers import GatedSummarizer, PostArticle

pytestmark = pytest.mark.background

Sessionmaker = async_sessionmaker[AsyncSession]


@pytest.fixture
def sessionmaker(client: LifespanClient) -> Sessionmaker:
    """The app's own sessionmaker: what the route hands to the task."""
    maker: Sessionmaker = client.state["sessionmaker"]
    return maker


async def add_article(sessionmaker: Sessionmaker, content: str = "Long content to summarize") -> int:
    """Insert an article directly, as the article's test does, and return its id."""
    async with sessionmaker() as session:
        article = Article(title="Needs Processing", content=content)
        session.add(article)
        await session.commit()
        return article.id


async def load(sessionmaker: Sessionmaker, article_id: int) -> Article:
    """The article as stored now, read in a session of its own."""
    async with sessionmaker() as session:
        article = await session.get(Article, article_id)
    assert article is not None
    return article


async def test_the_trigger_queues_the_task_with_its_arguments(
    client: LifespanClient, settings: Settings, post_article: PostArticle
) -> None:
    """The article's `test_background_task_triggered`, corrected.

    - Patched where the route looks the name up (`processing.routes`), not where it is defined.
    - `new=AsyncMock()`: Starlette awaits the task, and `assert_awaited_once_with` proves it
      ran, not only that something called it.
    - 202, not 200; and the exact arguments instead of `ANY` (which the article never
      imported): the id and the app's sessionmaker, never the request's session.
    """
    article = await post_article()

    with patch("processing.routes.process_article_async", new=AsyncMock()) as task:
        response = await client.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "processing_started"}
    task.assert_awaited_once_with(
        article["id"],
        client.state["sessionmaker"],
        settings.summarizer,
        timeout=settings.summary_timeout,
        retry=RetryPolicy(attempts=settings.max_attempts, delay=settings.retry_delay),
    )
    # The route claimed the article before queueing; only the (mocked) task would move it on.
    assert (await client.get(f"/api/articles/{article['id']}")).json()["status"] == "processing"


async def test_the_task_stores_the_summary_and_marks_the_article_processed(sessionmaker: Sessionmaker) -> None:
    """The article's `test_background_task_completes`, corrected.

    The task gets a sessionmaker and opens its own sessions, as it must when it runs after the
    response; the article passed the test's session in. The summariser is an argument, so the
    test hands in an `AsyncMock` (awaitable, unlike the article's plain mock) instead of
    patching a module attribute.
    """
    article_id = await add_article(sessionmaker)
    summarize = AsyncMock(return_value="AI-generated summary")

    await process_article_async(article_id, sessionmaker, summarize, timeout=5)

    summarize.assert_awaited_once_with("Long content to summarize")
    article = await load(sessionmaker, article_id)
    assert (article.status, article.summary, article.error) == (Status.PROCESSED, "AI-generated summary", None)


async def test_the_article_is_processing_while_the_summariser_runs(sessionmaker: Sessionmaker) -> None:
    article_id = await add_article(sessionmaker)
    summarizer = GatedSummarizer()
    task = asyncio.create_task(process_article_async(article_id, sessionmaker, summarizer, timeout=15))
    await summarizer.wait_started()

    during = await load(sessionmaker, article_id)
    summarizer.gate.set()
    async with asyncio.timeout(10):
        await task

    assert during.status is Status.PROCESSING
    assert (await load(sessionmaker, article_id)).status is Status.PROCESSED


@pytest.mark.parametrize(
    ("error", "stored"),
    [
        pytest.param(RuntimeError("model unavailable"), "RuntimeError: model unavailable", id="runtime-error"),
        pytest.param(TimeoutError("upstream timed out"), "TimeoutError: upstream timed out", id="its-own-timeout"),
        pytest.param(ValueError(), "ValueError", id="no-message"),
        # PostgreSQL text refuses NUL: stored as is, the failure itself would fail to save.
        pytest.param(RuntimeError("bad\x00byte"), "RuntimeError: badbyte", id="nul-in-message"),
    ],
)
async def test_a_failing_summariser_marks_the_article_failed(
    sessionmaker: Sessionmaker, error: Exception, stored: str
) -> None:
    article_id = await add_article(sessionmaker, content="Kept as it was.")

    await process_article_async(article_id, sessionmaker, AsyncMock(side_effect=error), timeout=5)

    article = await load(sessionmaker, article_id)
    assert (article.status, article.error, article.summary) == (Status.FAILED, stored, None)
    assert (article.title, article.content) == ("Needs Processing", "Kept as it was.")


async def test_a_summariser_that_hangs_times_out_as_failed(sessionmaker: Sessionmaker) -> None:
    article_id = await add_article(sessionmaker)
    never_opened = GatedSummarizer()

    await process_article_async(article_id, sessionmaker, never_opened, timeout=0.05)

    article = await load(sessionmaker, article_id)
    assert (article.status, article.error) == (Status.FAILED, "TimeoutError: no summary after 0.05 s")


async def test_a_summariser_that_returns_no_string_fails(sessionmaker: Sessionmaker) -> None:
    """A swapped-in summariser is typed, not trusted: a None summary must not look like success."""
    article_id = await add_article(sessionmaker)

    await process_article_async(article_id, sessionmaker, AsyncMock(return_value=None), timeout=5)

    article = await load(sessionmaker, article_id)
    assert (article.status, article.error) == (Status.FAILED, "TypeError: the summariser returned NoneType, not str")


async def test_a_cancelled_task_marks_the_article_failed(sessionmaker: Sessionmaker) -> None:
    """E.g. the server stops mid-task: the cancellation goes on, but the article is not left processing."""
    article_id = await add_article(sessionmaker)
    summarizer = GatedSummarizer()
    task = asyncio.create_task(process_article_async(article_id, sessionmaker, summarizer, timeout=15))
    await summarizer.wait_started()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(10):
            await task

    article = await load(sessionmaker, article_id)
    assert (article.status, article.error) == (Status.FAILED, "CancelledError: processing was cancelled")


async def test_a_task_cancelled_by_a_cancel_scope_still_records_its_failure(sessionmaker: Sessionmaker) -> None:
    """`task.cancel()` cancels one await; an anyio cancel scope (a task group, a timeout in
    anyio or Starlette) cancels every await after it too, the failure write included, unless
    that write is shielded. The test above cannot tell the two apart; this one can."""
    article_id = await add_article(sessionmaker)
    summarizer = GatedSummarizer()
    scope = anyio.CancelScope()

    async def run_in_scope() -> None:
        with scope:
            await process_article_async(article_id, sessionmaker, summarizer, timeout=15)

    task = asyncio.create_task(run_in_scope())
    await summarizer.wait_started()
    scope.cancel()
    async with asyncio.timeout(10):
        await task  # the scope absorbs its own cancellation

    article = await load(sessionmaker, article_id)
    assert (article.status, article.error) == (Status.FAILED, "CancelledError: processing was cancelled")


async def test_reprocessing_replaces_the_earlier_result(sessionmaker: Sessionmaker) -> None:
    article_id = await add_article(sessionmaker)
    await process_article_async(article_id, sessionmaker, AsyncMock(side_effect=RuntimeError("boom")), timeout=5)
    assert (await load(sessionmaker, article_id)).status is Status.FAILED
    # A finished article is run again only once it is claimed again, as the trigger does: a
    # second delivery of the first job must not undo its result (test_queue.py).
    async with sessionmaker() as session:
        assert await claim(session, article_id) is Claim.CLAIMED

    await process_article_async(article_id, sessionmaker, AsyncMock(return_value="Second try"), timeout=5)

    article = await load(sessionmaker, article_id)
    assert (article.status, article.summary, article.error) == (Status.PROCESSED, "Second try", None)


async def test_an_unknown_article_is_logged_not_raised(
    sessionmaker: Sessionmaker, caplog: pytest.LogCaptureFixture
) -> None:
    summarize = AsyncMock()

    with caplog.at_level(logging.WARNING, logger="processing.tasks"):
        await process_article_async(404, sessionmaker, summarize, timeout=5)

    summarize.assert_not_awaited()
    assert caplog.messages == ["article 404 does not exist; nothing to process"]


async def test_when_even_the_failure_cannot_be_stored_it_is_logged(
    sessionmaker: Sessionmaker, caplog: pytest.LogCaptureFixture
) -> None:
    """The one case the task cannot help: the database fails too. It must not raise from a
    background task (nobody would see it); the log is the last place left to say so."""
    article_id = await add_article(sessionmaker)
    failing = AsyncMock(side_effect=RuntimeError("model unavailable"))

    with (
        patch("processing.storage.store_failure", new=AsyncMock(side_effect=OSError("database gone"))),
        caplog.at_level(logging.ERROR, logger="processing.tasks"),
    ):
        await process_article_async(article_id, sessionmaker, failing, timeout=5)

    assert caplog.messages == [f"processing article {article_id} failed", f"could not mark article {article_id} failed"]
    assert "database gone" in caplog.text


def test_a_stored_error_is_bounded() -> None:
    stored = describe(RuntimeError("x" * 5000))

    assert len(stored) == MAX_ERROR_LENGTH
    assert stored.startswith("RuntimeError: xxx")
    assert stored.endswith("…")
