"""The article's "Async Database Integration", made safe under concurrency.

The article: `poolclass=StaticPool` on in-memory SQLite, and one `db_session` handed to every
request. Concurrent requests then share one connection (rows lost silently) or one session
(errors). Here the lifespan owns the engine, each request opens its own session (`get_session`)
and each test has a database file of its own (conftest.py). The article's concurrency test
created drafts and expected them in the list of published articles; ours publishes them.
`sqlalchemy[asyncio]`: SQLAlchemy 2.1 no longer installs greenlet by itself.
At depth: services/articles/tests/test_concurrency.py.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Article(Base):
    __tablename__ = "articles"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    content: Mapped[str]
    status: Mapped[str]


class ArticleIn(BaseModel, from_attributes=True):
    title: str
    content: str
    status: Literal["draft", "published"] = "draft"


class ArticleOut(ArticleIn):
    id: int


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, object]]:
    engine = create_async_engine(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///articles.db"))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield {"sessionmaker": async_sessionmaker(engine, expire_on_commit=False)}
    await engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.state.sessionmaker() as session:
        yield session


app = FastAPI(lifespan=lifespan)


@app.post("/api/articles/", status_code=201)
async def create_article(article: ArticleIn, session: Annotated[AsyncSession, Depends(get_session)]) -> ArticleOut:
    session.add(row := Article(**article.model_dump()))
    await session.commit()
    return ArticleOut.model_validate(row)


@app.get("/api/articles/")
async def list_published(session: Annotated[AsyncSession, Depends(get_session)]) -> list[ArticleOut]:
    rows = await session.scalars(select(Article).where(Article.status == "published").order_by(Article.id))
    return [ArticleOut.model_validate(row) for row in rows]
