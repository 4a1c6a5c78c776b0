"""The article's "Running Async Tests", with the configuration and fixtures it leaves out.

The article's commands (`pytest -v`, `-k`, `--cov`) run any suite; what makes an async suite
pass is around them. pytest.ini sets the two loop scopes (unset, pytest-asyncio 1.x warns, and
with warnings as errors the run fails). conftest.py has the fixtures every suite needs: a
database per test, the lifespan run, an AsyncClient on ASGITransport, overrides put back
(never `.clear()`). At depth: services/articles/tests/conftest.py and the kit's fixtures it uses.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str]
    text: Mapped[str]


class NoteIn(BaseModel):
    text: str


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
    engine = create_async_engine(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///notes.db"))
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    yield {"sessionmaker": async_sessionmaker(engine, expire_on_commit=False)}
    await engine.dispose()


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.state.sessionmaker() as session:
        yield session


async def get_current_user() -> str:
    raise HTTPException(status_code=401, detail="Not authenticated")  # a real app checks a token here


Session = Annotated[AsyncSession, Depends(get_session)]
User = Annotated[str, Depends(get_current_user)]
app = FastAPI(lifespan=lifespan)


@app.post("/api/notes/", status_code=201)
async def add_note(note: NoteIn, user: User, session: Session) -> NoteIn:
    session.add(Note(owner=user, text=note.text))
    await session.commit()
    return note


@app.get("/api/notes/")
async def my_notes(user: User, session: Session) -> list[str]:
    return list(await session.scalars(select(Note.text).where(Note.owner == user).order_by(Note.id)))
