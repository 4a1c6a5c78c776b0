"""The list baseline: the same 20 rows read with one pooled engine and a session per request.

It reads the articles service's own table (`BENCH_DATABASE_URL`: the same SQLite file, or the
same PostgreSQL database), through a mapping of its own: no validation, no response model.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI, Request
from sqlalchemy import DateTime, String, Text, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(9))
    author_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app() -> FastAPI:
    url = os.environ["BENCH_DATABASE_URL"]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
        engine = create_async_engine(url)
        yield {"sessionmaker": async_sessionmaker(engine, expire_on_commit=False)}
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/list")
    async def articles(request: Request) -> list[dict[str, object]]:
        async with request.state.sessionmaker() as session:
            query = (
                select(Row).where(Row.status == "published").order_by(Row.created_at.desc(), Row.id.desc()).limit(20)
            )
            rows = (await session.scalars(query)).all()
        return [
            {
                "id": r.id,
                "title": r.title,
                "content": r.content,
                "status": r.status,
                "author_id": r.author_id,
                "created_at": r.created_at.isoformat(),
            }
            for r in rows
        ]

    return app
