"""The background task: summarise one article and record how it ended."""

import asyncio
import logging
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from processing import storage
from processing.summary import Summarizer, TransientError

logger = logging.getLogger(__name__)

# Long enough for any message worth reading; PostgreSQL text would take more, a UI would not.
MAX_ERROR_LENGTH = 1000

# Errors that may pass if tried again. Anything else (a bug, a bad result, content the model
# refuses) would fail the same way, so retrying it only delays the `failed` the user sees.
RETRIED = (TimeoutError, ConnectionError, TransientError)


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry policy, for both modes: `attempts` in all, `delay` seconds before the
    second, doubling before each one after (Settings: max_attempts, retry_delay).

    It lives in the task, not in the queue: taskiq's SmartRetryMiddleware ignores its delay
    without a scheduler process (docs/processing.md, "Why taskiq"), and BackgroundTasks has no retries at all.
    """

    attempts: int = 1
    delay: float = 0

    def backoff(self, failed_attempt: int) -> float:
        return self.delay * 2.0 ** (failed_attempt - 1)


NO_RETRY = RetryPolicy()


async def process_article_async(
    article_id: int,
    sessionmaker: async_sessionmaker[AsyncSession],
    summarize: Summarizer,
    *,
    timeout: float,  # noqa: ASYNC109 (a deadline on one step of the task, not on the whole call)
    retry: RetryPolicy = NO_RETRY,
) -> None:
    """Summarise article `article_id`: `processing`, then `processed` with the summary, or
    `failed` with the error. Whatever happens, the article does not stay `processing`.

    It is given an id and a sessionmaker, never the request's session or ORM objects: it runs
    after the response, and opens sessions of its own. Each session is short, so no database
    connection is held while the summariser works.
    """
    try:
        async with sessionmaker() as session:
            content = await storage.start_processing(session, article_id)
        if content is None:
            logger.warning("article %d does not exist; nothing to process", article_id)
            return
        summary = await _summarize_with_retries(article_id, summarize, content, timeout, retry)
        async with sessionmaker() as session:
            await storage.store_summary(session, article_id, summary)
    except Exception as error:
        # Any error: the task runs after the response, so nobody else would ever see it.
        logger.exception("processing article %d failed", article_id)
        await _record_failure(sessionmaker, article_id, describe(error))
    except asyncio.CancelledError:
        # Cancelled (e.g. the server stopped mid-task): record that, shielded so the write
        # itself is not cancelled, then let the cancellation go on.
        with anyio.CancelScope(shield=True):
            await _record_failure(sessionmaker, article_id, "CancelledError: processing was cancelled")
        raise


async def _summarize_with_retries(
    article_id: int,
    summarize: Summarizer,
    content: str,
    timeout: float,  # noqa: ASYNC109
    retry: RetryPolicy,
) -> str:
    for attempt in range(1, retry.attempts):
        try:
            return await _summarize(summarize, content, timeout)
        except RETRIED as error:
            delay = retry.backoff(attempt)
            logger.warning(
                "article %d: attempt %d of %d failed (%s); again in %g s",
                article_id,
                attempt,
                retry.attempts,
                describe(error),
                delay,
            )
            await asyncio.sleep(delay)
    return await _summarize(summarize, content, timeout)  # the last attempt: its error is final


async def _summarize(summarize: Summarizer, content: str, timeout: float) -> str:  # noqa: ASYNC109
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            summary = await summarize(content)
    except TimeoutError:
        if deadline.expired():  # ours, not a TimeoutError the summariser raised itself
            raise TimeoutError(f"no summary after {timeout:g} s") from None
        raise
    # A swapped-in summariser is only typed, not trusted: storing None would look like success.
    if not isinstance(summary, str):
        raise TypeError(f"the summariser returned {type(summary).__name__}, not str")
    return summary


def describe(error: Exception) -> str:
    """The error as stored: its type and message, without NUL (PostgreSQL text refuses it), bounded."""
    text = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    text = text.replace("\x00", "")
    return text if len(text) <= MAX_ERROR_LENGTH else text[: MAX_ERROR_LENGTH - 1] + "…"


async def _record_failure(sessionmaker: async_sessionmaker[AsyncSession], article_id: int, error: str) -> None:
    # A new session: the one that failed may be in a state that cannot commit.
    try:
        async with sessionmaker() as session:
            await storage.store_failure(session, article_id, error)
    except Exception:
        # The database itself is failing: nothing left to record it in but the log.
        logger.exception("could not mark article %d failed", article_id)
