"""The /api/articles resource and its processing trigger."""

import logging
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, HTTPException, Path, status
from taskiq.exceptions import SendTaskError

from processing.dependencies import BrokerDep, NewArticle, SessionDep, SessionmakerDep, SettingsDep, SummarizerDep
from processing.models import Article, Status
from processing.queue import enqueue, retry_policy
from processing.schemas import ArticleRead, ProcessingStarted
from processing.storage import Claim, claim, count_by_status
from processing.tasks import process_article_async

logger = logging.getLogger(__name__)

# Ids beyond a 32-bit integer are refused with a 422; PostgreSQL would turn them into a driver
# error (a 500) instead.
MAX_INT = 2**31 - 1
ArticleId = Annotated[int, Path(ge=1, le=MAX_INT)]

router = APIRouter(prefix="/api/articles", tags=["articles"])
stats_router = APIRouter(prefix="/api/stats", tags=["stats"])


def _not_found(article_id: int) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=f"Article {article_id} not found")


@router.post("/", status_code=status.HTTP_201_CREATED)
async def create_article(body: NewArticle, session: SessionDep) -> ArticleRead:
    article = Article(**body.model_dump())
    session.add(article)
    await session.commit()
    return ArticleRead.model_validate(article)


@router.get("/{article_id}", responses={404: {"description": "No such article"}})
async def get_article(article_id: ArticleId, session: SessionDep) -> ArticleRead:
    article = await session.get(Article, article_id)
    if article is None:
        raise _not_found(article_id)
    return ArticleRead.model_validate(article)


@router.post(
    "/{article_id}/process",
    status_code=status.HTTP_202_ACCEPTED,
    responses={404: {"description": "No such article"}, 409: {"description": "Already processing"}},
)
async def trigger_processing(
    article_id: ArticleId,
    background_tasks: BackgroundTasks,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    summarize: SummarizerDep,
    settings: SettingsDep,
    broker: BrokerDep,
) -> ProcessingStarted:
    """Queue the summary of an article; 202 because the work is accepted, not done.

    The article is claimed (set to `processing`) here, in the request, so a second trigger
    gets its 409 at once instead of queueing a second run. A processed or failed article may
    be processed again; the new result replaces the old.
    """
    outcome = await claim(session, article_id)
    if outcome is Claim.MISSING:
        raise _not_found(article_id)
    if outcome is Claim.BUSY:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"Article {article_id} is already processing")
    if broker is not None:
        # Queue mode: only the id is sent; the job reads the rest from the database. The claim
        # committed above is the outbox: should the send fail (Redis unreachable), the work is
        # still accepted, and recovery enqueues it once the lease is over. A 503 here would be
        # worse: the client's retry would find the article claimed and get a 409.
        try:
            await enqueue(broker, article_id)
        except SendTaskError as error:
            logger.warning("article %s: queue unreachable (%r); recovery enqueues it", article_id, error.__cause__)
        return ProcessingStarted()
    # The id and the sessionmaker, not `session` or the ORM object: the task runs after the
    # response and must not borrow what belongs to the request.
    background_tasks.add_task(
        process_article_async,
        article_id,
        sessionmaker,
        summarize,
        timeout=settings.summary_timeout,
        retry=retry_policy(settings),
    )
    return ProcessingStarted()


@stats_router.get("")
async def status_counts(session: SessionDep) -> dict[Status, int]:
    """How many articles are pending, processing, processed and failed (the gateway's dashboard)."""
    return await count_by_status(session)
