"""The processing baseline: the same three steps with the same summariser, and nothing else.

Create an article, trigger its processing (a background task that reads the content, summarises
it in a worker thread and stores the summary), read it back: one pooled engine, a session per
request, no validation, no claim against double triggers, no failure handling.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import BackgroundTasks, FastAPI, Request
from sqlalchemy import Text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from processing.summary import summarize_text


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "bench_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text, default="pending")
    summary: Mapped[str | None] = mapped_column(Text)


async def _process(article_id: int, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        row = await session.get(Row, article_id)
        content = row.content if row else ""
    summary = await anyio.to_thread.run_sync(summarize_text, content)
    async with sessionmaker() as session:
        await session.execute(update(Row).where(Row.id == article_id).values(status="processed", summary=summary))
        await session.commit()


def create_app() -> FastAPI:
    url = os.environ.get("BENCH_DATABASE_URL", "sqlite+aiosqlite:///baseline.db")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        yield {"sessionmaker": async_sessionmaker(engine, expire_on_commit=False)}
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/articles/", status_code=201)
    async def create(request: Request) -> dict[str, object]:
        body = await request.json()
        async with request.state.sessionmaker() as session:
            row = Row(title=body["title"], content=body["content"], status="pending")
            session.add(row)
            await session.commit()
            return {"id": row.id, "status": row.status}

    @app.post("/api/articles/{article_id}/process", status_code=202)
    async def trigger(article_id: int, request: Request, tasks: BackgroundTasks) -> dict[str, str]:
        async with request.state.sessionmaker() as session:
            await session.execute(update(Row).where(Row.id == article_id).values(status="processing"))
            await session.commit()
        tasks.add_task(_process, article_id, request.state.sessionmaker)
        return {"status": "processing_started"}

    @app.get("/api/articles/{article_id}")
    async def read(article_id: int, request: Request) -> dict[str, object]:
        async with request.state.sessionmaker() as session:
            row = await session.get(Row, article_id)
            if row is None:
                return {"id": article_id, "status": "missing"}
            return {"id": row.id, "status": row.status, "summary": row.summary}

    return app
