"""What routes ask for: a session per request, the sessionmaker, the summariser, a valid body.

Each reads what the lifespan created from `request.state`, so tests can swap any of them with
`app.dependency_overrides`.

Every dependency here is `async def`, though most await nothing: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that cost a cached read about a third
of its rate (bench/README.md). None of them blocks, so none needs the thread.
"""

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from processing.schemas import ArticleCreate
from processing.settings import Settings
from processing.summary import Summarizer


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """The app's sessionmaker: what a background task needs to open sessions of its own."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.state.sessionmaker
    return sessionmaker


async def get_session(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """A new session for every request. Background tasks must not use it (they open their own)."""
    async with sessionmaker() as session:
        yield session


async def get_broker(request: Request) -> AsyncBroker | None:
    """The job queue's broker in queue mode; None in background mode."""
    broker: AsyncBroker | None = request.state.broker
    return broker


async def get_summarizer(settings: Annotated[Settings, Depends(get_settings)]) -> Summarizer:
    return settings.summarizer


async def get_new_article(body: ArticleCreate, settings: Annotated[Settings, Depends(get_settings)]) -> ArticleCreate:
    """The body, checked against the length limits from settings; a 422 like pydantic's own if not."""
    limits = {"title": settings.max_title_length, "content": settings.max_content_length}
    errors: list[dict[str, Any]] = [
        {
            "type": "string_too_long",
            "loc": ("body", field),
            "msg": f"String should have at most {limit} characters",
            "input": value,
            "ctx": {"max_length": limit},
        }
        for field, limit in limits.items()
        if len(value := getattr(body, field)) > limit
    ]
    if errors:
        raise RequestValidationError(errors)
    return body


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
BrokerDep = Annotated[AsyncBroker | None, Depends(get_broker)]
SummarizerDep = Annotated[Summarizer, Depends(get_summarizer)]
NewArticle = Annotated[ArticleCreate, Depends(get_new_article)]
