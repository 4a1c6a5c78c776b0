"""Request and response bodies.

The length limits are settings, so they cannot be fixed in these classes; the
`get_new_article` dependency applies them (dependencies.py).
"""

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from processing.models import Status
from service_runtime.text import NOT_BLANK_PATTERN, not_blank


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL; rejecting it here turns a would-be 500 into a 422.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


# The validators, for the OpenAPI document, so a client (or the fuzzer) reading it knows what is
# refused: "not blank" is the runtime's NOT_BLANK_PATTERN (service_runtime.text). The fuzzer sent
# "\n" for content, which the document allowed and the validator refused.
# No NUL: `not` a pattern that finds one, which costs a fuzzer generating from the document
# nothing measurable (an anchored `^[^\x00]*$` on a long field made schemathesis' coverage phase slow).
NUL_PATTERN = r"\x00"

Text = Annotated[
    str,
    Field(
        min_length=1,
        description="Not blank. No NUL characters.",
        json_schema_extra={"pattern": NOT_BLANK_PATTERN, "not": {"pattern": NUL_PATTERN}},
    ),
    AfterValidator(_no_nul),
    AfterValidator(not_blank),
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
