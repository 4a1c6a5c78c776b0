"""The SQL engine and the queries the routes need."""

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from articles.models import Article, Base, Status


def create_engine(database_url: str) -> AsyncEngine:
    """One engine (and so one connection pool) for the app's whole life.

    `pool_pre_ping` replaces connections the server closed while the app was idle. It costs a
    round trip per request, so SQLite, which has no server to close them, goes without (the list
    is a quarter faster: bench/README.md).
    """
    return create_async_engine(database_url, pool_pre_ping=not database_url.startswith("sqlite"))


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # expire_on_commit=False: a committed object can still be read to build the response.
    return async_sessionmaker(engine, expire_on_commit=False)


async def create_tables(engine: AsyncEngine) -> None:
    """Create missing tables. A real deployment would run migrations (Alembic) instead."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def list_published(session: AsyncSession, *, limit: int, offset: int) -> Sequence[Article]:
    query = (
        select(Article)
        .where(Article.status == Status.PUBLISHED)
        .order_by(Article.created_at.desc(), Article.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return (await session.scalars(query)).all()
