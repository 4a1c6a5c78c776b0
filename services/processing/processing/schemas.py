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


# The validators, for the OpenAPI document, so a client (or the fuzzer) reading it knows what is
# refused: "contains a character that is not blank", with the blank characters spelled out as
# str.isspace()'s (neither JSON Schema's `\s` nor the fuzzer's regex `\s` means that set). The
# fuzzer sent "\n" for content, which the document allowed and the validator refused. No NUL:
# `not` a pattern that finds one, which costs a fuzzer generating from the document nothing
# measurable (an anchored `^[^\x00]*$` on a long field made schemathesis' coverage phase slow).
# Documentation only: the validators decide, and their messages stay theirs.
BLANK = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK_PATTERN = rf"[^\x00{BLANK}]"
NUL_PATTERN = r"\x00"

Text = Annotated[
    str,
    Field(
        min_length=1,
        description="Not blank. No NUL characters.",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN, "not": {"pattern": NUL_PATTERN}},
    ),
    AfterValidator(_no_nul),
    AfterValidator(_not_blank),
]


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
