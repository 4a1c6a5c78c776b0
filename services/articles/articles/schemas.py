"""Request and response bodies."""

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic.config import JsonDict

from articles.models import Status
from service_runtime.text import NOT_BLANK_PATTERN, not_blank


def storage_problem(text: str) -> str | None:
    """Why a database's text column cannot hold `text`, or None if it can.

    PostgreSQL text cannot hold NUL, and UTF-8 cannot encode a lone surrogate, which JSON's
    escapes can spell ("\\ud800") and Python's parser accepts: either would reach the INSERT
    and fail it with a 500. In a body pydantic refuses a lone surrogate itself (a `str` field
    must be valid Unicode) and NUL here, a 422; in a token's `sub`, auth.py refuses both, a 401.
    """
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "must not contain lone surrogates"
    return None


def _storable(value: str) -> str:
    if (problem := storage_problem(value)) is not None:
        raise ValueError(problem)
    return value


# The validators, for the OpenAPI document, so a client (or a fuzzer) reading it knows what is
# refused. Not blank: the runtime's NOT_BLANK_PATTERN (service_runtime.text), unanchored;
# test_openapi.py holds its list of blanks to str.isspace(). No NUL: `not` a pattern that finds
# one, which a fuzzer generating from the document honours at no measurable cost; an anchored
# `^[^\x00]*$` instead made schemathesis' coverage phase build and match strings of 100,000
# characters, 17 s of every fuzz run. Documentation only: the validators decide, so the error
# messages stay theirs.
TITLE_PATTERN = NOT_BLANK_PATTERN
NO_NUL = "No NUL characters."
WITHOUT_NUL: JsonDict = {"not": {"pattern": r"\x00"}}

Title = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description=f"Not blank. {NO_NUL}",
        json_schema_extra={"pattern": TITLE_PATTERN, **WITHOUT_NUL},
    ),
    AfterValidator(_storable),
    AfterValidator(not_blank),
]
Content = Annotated[
    str,
    Field(max_length=100_000, description=NO_NUL, json_schema_extra=WITHOUT_NUL),
    AfterValidator(_storable),
]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    content: Content
    status: Status = Status.DRAFT


class ArticleUpdate(BaseModel):
    """Every field optional; the ones sent replace the stored values. `null` is not a value."""

    # None is only the marker for "not sent": a `null` sent is refused below, so the schema
    # drops the null that `X | None` would document (_without_null).
    model_config = ConfigDict(extra="forbid", json_schema_extra=lambda schema: _without_null(schema))

    title: Title | None = None
    content: Content | None = None
    status: Status | None = None

    @field_validator("title", "content", "status", mode="before")
    @classmethod
    def _reject_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must not be null; leave the field out to keep it")
        return value


def _without_null(schema: JsonDict) -> None:
    """`anyOf: [X, {"type": "null"}]` becomes X in every property: the document as validated."""
    properties = schema.get("properties")
    for spec in properties.values() if isinstance(properties, dict) else []:
        options = spec.get("anyOf") if isinstance(spec, dict) else None
        kept = [option for option in options if option != {"type": "null"}] if isinstance(options, list) else []
        if isinstance(spec, dict) and len(kept) == 1 and isinstance(kept[0], dict):
            del spec["anyOf"]
            spec.update(kept[0])


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


class ErrorDetail(BaseModel):
    """The body of every refusal but a 422: `{"detail": "Article 7 not found"}`."""

    detail: str
