"""Request and response bodies."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from articles.models import Status


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here turns a would-be 500 into a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_nul), AfterValidator(_not_blank)]
Content = Annotated[str, Field(max_length=100_000), AfterValidator(_no_nul)]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    content: Content
    status: Status = Status.DRAFT


class ArticleUpdate(BaseModel):
    """Every field optional; the ones sent replace the stored values. `null` is not a value."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    content: Content | None = None
    status: Status | None = None

    @field_validator("title", "content", "status", mode="before")
    @classmethod
    def _reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it")
        return value


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    status: Status
    author_id: str
    created_at: datetime

    @field_validator("created_at")
    @classmethod
    def _as_utc(cls, value: datetime) -> datetime:
        # SQLite hands back naive datetimes; all of ours were written in UTC.
        return value if value.tzinfo else value.replace(tzinfo=UTC)
