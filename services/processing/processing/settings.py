"""Settings from environment variables prefixed `PROCESSING_`, each with an embedded default."""

import inspect
from typing import Annotated

from pydantic import AfterValidator, Field, ImportString
from pydantic_settings import BaseSettings, SettingsConfigDict

from processing.summary import Summarizer, generate_ai_summary


def _is_async(summarizer: Summarizer) -> Summarizer:
    # Checked at start-up: a plain function here would only fail once a task awaited it.
    # An object whose __call__ is async (a class instance, an AsyncMock) is accepted too.
    if not (inspect.iscoroutinefunction(summarizer) or inspect.iscoroutinefunction(type(summarizer).__call__)):
        raise ValueError("must be an async callable: async def summarize(content: str) -> str")
    return summarizer


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PROCESSING_", frozen=True)

    # FastAPI counts the bytes it reads, Content-Length or not: a larger body is a 413 before it is parsed.
    max_body_bytes: int = Field(default=1_048_576, gt=0, description="largest request body, in bytes")

    # A SQLite file next to where the service runs; set a postgresql+asyncpg:// URL for Postgres.
    database_url: str = "sqlite+aiosqlite:///processing.db"
    max_title_length: int = Field(default=200, gt=0, description="characters")
    max_content_length: int = Field(default=100_000, gt=0, description="characters")
    # What the task awaits to summarise an article: an object, or its import path from the
    # environment (`PROCESSING_SUMMARIZER=mypackage.llm:summarize`), to swap in a real model.
    summarizer: Annotated[ImportString[Summarizer], AfterValidator(_is_async)] = generate_ai_summary
    # A summariser that hangs would leave its article in `processing` for ever; past this many
    # seconds the task gives up and marks the article `failed`.
    summary_timeout: float = Field(default=60, gt=0, description="seconds")
