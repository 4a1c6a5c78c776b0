"""Request and response bodies.

The length limits are settings, so they cannot be fixed in these classes; the
`get_new_article` dependency applies them (dependencies.py).
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from processing.models import Status


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here turns a would-be 500 into a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


Text = Annotated[str, Field(min_length=1), AfterValidator(_no_nul), AfterValidator(_not_blank)]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text
    content: Text


class ArticleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    content: str
    status: Status
    summary: str | None
    error: str | None


class ProcessingStarted(BaseModel):
    """The 202 answer: the work is queued, not done; poll the article for its outcome."""

    status: Literal["processing_started"] = "processing_started"
