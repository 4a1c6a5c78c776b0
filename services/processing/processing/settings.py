"""Settings from environment variables prefixed `PROCESSING_`, each with an embedded default."""

import inspect
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, Field, ImportString, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from processing.remote import RemoteSummarizer
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
    # Or a summariser behind an HTTP API (remote.py): set, it becomes `summarizer`. The token,
    # if any, goes in an `Authorization: Bearer` header.
    summarizer_url: str | None = None
    summarizer_token: SecretStr | None = None
    # A summariser that hangs would leave its article in `processing` for ever; past this many
    # seconds the task gives up and marks the article `failed`.
    summary_timeout: float = Field(default=60, gt=0, description="seconds")

    # Where triggered work runs (docs/processing.md, "BackgroundTasks or a job queue"): `background`, a
    # FastAPI background task in this process; `queue`, a taskiq job: run in this process on the
    # in-memory broker without `redis_url`, by `python -m processing.worker` processes with it.
    mode: Literal["background", "queue"] = "background"
    # The durable broker's Redis (a stream); None: the in-memory broker (queue mode only).
    redis_url: str | None = None
    # Attempts per job; only errors worth retrying (a timeout, a TransientError) are retried,
    # after retry_delay seconds, doubling each time.
    max_attempts: int = Field(default=3, ge=1)
    retry_delay: float = Field(default=1, ge=0, description="seconds")
    # A claim (an article in `processing`) older than this is work a dead process held: it is
    # run (background) or enqueued (queue) again, at startup and every recovery_interval.
    lease: float = Field(default=300, gt=0, description="seconds")
    recovery_interval: float = Field(default=30, gt=0, description="seconds")
    # Redis mode: a job a worker took but never acknowledged (it died) is delivered again after
    # this many seconds (the stream's idle time); reclaim_interval is how often workers look.
    redelivery_delay: float = Field(default=300, gt=0, description="seconds")
    reclaim_interval: float = Field(default=5, gt=0, description="seconds")

    @model_validator(mode="before")
    @classmethod
    def _remote_summarizer(cls, data: Any) -> Any:
        # Before validation, so `summarizer` is still only what was given: both given is a
        # configuration error, not a silent choice of one.
        if not isinstance(data, dict) or data.get("summarizer_url") is None:
            return data
        if data.get("summarizer") is not None:
            raise ValueError("set summarizer or summarizer_url, not both")
        token = data.get("summarizer_token")
        token = token.get_secret_value() if isinstance(token, SecretStr) else token
        return data | {"summarizer": RemoteSummarizer(str(data["summarizer_url"]), token=token)}

    def job_budget(self) -> float:
        """The longest one job can take: every attempt timing out, with the back-off between."""
        backoff = sum(self.retry_delay * 2.0**n for n in range(self.max_attempts - 1))
        return self.max_attempts * self.summary_timeout + backoff

    @model_validator(mode="after")
    def _leases_outlast_a_job(self) -> Self:
        # Shorter, and a live job would be taken for a dead one and run twice at once.
        for name in ("lease", "redelivery_delay"):
            if getattr(self, name) <= self.job_budget():
                raise ValueError(
                    f"{name} must be longer than one job can take ({self.job_budget():g} s: "
                    "max_attempts x summary_timeout + the back-off between)"
                )
        return self
