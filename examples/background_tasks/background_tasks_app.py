"""The article's "Background Task Testing", the task opening its own session.

The article queued `process_article_async(article_id, db)` with the request's session; a task runs
after the response, so here it gets the article's id and a sessionmaker, never the request's
session or its objects. The trigger answers 202 Accepted (queued, not done), not 200. At depth
(failures, a summariser that hangs, a job queue): services/processing/tests/test_tasks.py.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import BackgroundTasks, FastAPI, HTTPException, Request, status
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Sessionmaker = async_sessionmaker[AsyncSession]


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str]
    summary: Mapped[str | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(default="published")


async def generate_ai_summary(content: str) -> str:
    return content.split(".")[0] + "."  # stands in for a call to a model


async def process_article_async(article_id: int, sessionmaker: Sessionmaker) -> None:
    async with sessionmaker() as session:
        article = await session.get(Article, article_id)
        if article is not None:
            article.summary = await generate_ai_summary(article.content)
            article.status = "processed"
            await session.commit()


def create_app(database_url: str) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Sessionmaker]]:
        engine = create_async_engine(database_url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield {"sessionmaker": async_sessionmaker(engine, expire_on_commit=False)}
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/articles/{article_id}/process", status_code=status.HTTP_202_ACCEPTED)
    async def trigger_processing(
        article_id: int, request: Request, background_tasks: BackgroundTasks
    ) -> dict[str, str]:
        sessionmaker: Sessionmaker = request.state.sessionmaker
        async with sessionmaker() as session:  # the request's own, closed before the task runs
            if await session.get(Article, article_id) is None:
                raise HTTPException(status.HTTP_404_NOT_FOUND, "article not found")
        background_tasks.add_task(process_article_async, article_id, sessionmaker)
        return {"status": "processing_started"}

    return app
