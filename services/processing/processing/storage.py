"""The statements that move an article through its states; the engine is the runtime's (service_runtime.sql).

Every state change is one UPDATE whose WHERE clause says which state it may start from, so it
holds under concurrency on SQLite and PostgreSQL alike, with no read-then-write race.
"""

import enum
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from processing.models import Article, Base, Status
from service_runtime import sql


async def create_tables(engine: AsyncEngine) -> None:
    """Create the missing tables (service_runtime.sql says how)."""
    await sql.create_tables(engine, Base.metadata)


class Claim(enum.Enum):
    CLAIMED = "claimed"
    BUSY = "busy"  # already processing
    MISSING = "missing"


async def claim(session: AsyncSession, article_id: int) -> Claim:
    """Move the article to `processing` unless it is there already, and commit.

    One conditional UPDATE: of two triggers at once, exactly one changes the row. On
    PostgreSQL the second waits for the first's row lock, then finds the status changed; on
    SQLite writes are serialised. Checking the status first and updating after would let both
    pass the check.
    """
    claimed = await session.scalar(
        update(Article)
        .where(Article.id == article_id, Article.status != Status.PROCESSING)
        .values(status=Status.PROCESSING, summary=None, error=None, claimed_at=_now())
        .returning(Article.id)
    )
    await session.commit()
    if claimed is not None:
        return Claim.CLAIMED
    exists = await session.scalar(select(Article.id).where(Article.id == article_id))
    return Claim.MISSING if exists is None else Claim.BUSY


async def start_processing(session: AsyncSession, article_id: int) -> str | None:
    """Start (or restart) the job of a claimed article: renew its claim, return its content.

    None if there is no such article, or if it has finished already: a job delivered twice
    (a worker died after storing its result, before the queue heard so) does nothing the
    second time, instead of flipping a processed article back to `processing`. A `pending`
    article (never claimed: the task called directly) is claimed here.
    """
    content = await session.scalar(
        update(Article)
        .where(Article.id == article_id, Article.status.in_([Status.PENDING, Status.PROCESSING]))
        .values(status=Status.PROCESSING, summary=None, error=None, claimed_at=_now())
        .returning(Article.content)
    )
    await session.commit()
    return content


async def store_summary(session: AsyncSession, article_id: int, summary: str) -> None:
    await _finish(session, article_id, status=Status.PROCESSED, summary=summary, error=None)


async def store_failure(session: AsyncSession, article_id: int, error: str) -> None:
    await _finish(session, article_id, status=Status.FAILED, summary=None, error=error)


async def _finish(session: AsyncSession, article_id: int, **values: object) -> None:
    # Only from `processing`: of two runs of one job (a redelivery racing a slow worker) the
    # first to finish records the outcome, and the second changes nothing anyone can see.
    await session.execute(
        update(Article)
        .where(Article.id == article_id, Article.status == Status.PROCESSING)
        .values(claimed_at=None, **values)
    )
    await session.commit()


async def reclaim_expired(session: AsyncSession, lease: float) -> list[int]:
    """The ids of articles claimed more than `lease` seconds ago and not finished, claimed anew.

    Their process died (a crash, SIGKILL, a lost background task). Renewing the claim in the
    same UPDATE means two recoverers at once (two API processes) never both get the same id.
    """
    ids = await session.scalars(
        update(Article)
        .where(Article.status == Status.PROCESSING, Article.claimed_at < _now() - timedelta(seconds=lease))
        .values(claimed_at=_now())
        .returning(Article.id)
    )
    found = sorted(ids)
    await session.commit()
    return found


def _now() -> datetime:
    return datetime.now(UTC)


async def count_by_status(session: AsyncSession) -> dict[Status, int]:
    """How many articles are in each state; every state is present, zero included."""
    rows = await session.execute(select(Article.status, func.count()).group_by(Article.status))
    counts = dict.fromkeys(Status, 0)
    for status, count in rows:
        counts[status] = count
    return counts
