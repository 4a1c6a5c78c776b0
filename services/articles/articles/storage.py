"""The tables and the queries the routes need; the engine and sessions are the runtime's (service_runtime.sql)."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from articles.models import Article, Base, Status
from service_runtime import sql


async def create_tables(engine: AsyncEngine) -> None:
    """Create the missing tables (service_runtime.sql says how)."""
    await sql.create_tables(engine, Base.metadata)


async def list_published(session: AsyncSession, *, limit: int, offset: int) -> Sequence[Article]:
    query = (
        select(Article)
        .where(Article.status == Status.PUBLISHED)
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(query)).all()
