"""What the API accepts and answers: topics, event ids, event bodies."""

import json
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, field_validator

TOPIC = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# [0-9], not \d: \d also matches other scripts' digits, which Redis would refuse.
EVENT_ID = re.compile(r"([0-9]+)-([0-9]+)")
MAX_ID_PART = 2**64 - 1  # each half of a stream id is an unsigned 64-bit integer
MAX_DATA_BYTES = 64 * 1024


def _check_topic(value: str) -> str:
    if not TOPIC.fullmatch(value):
        raise ValueError("a topic is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'")
    return value


def _check_event_id(value: str) -> str:
    match = EVENT_ID.fullmatch(value)
    if not match or any(int(part) > MAX_ID_PART for part in match.groups()):
        raise ValueError("an event id is the 'id' of an event this stream sent: '<milliseconds>-<sequence>'")
    return value


def _check_event_name(value: str) -> str:
    # A line break would end the SSE `event:` field early and inject fields of its own.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("an event name is a single line, without control characters")
    return value


Topic = Annotated[str, AfterValidator(_check_topic)]
EventId = Annotated[str, AfterValidator(_check_event_id)]
EventName = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_check_event_name)]


def to_json(value: JsonValue) -> str:
    """Compact JSON on one line (json.dumps escapes newlines inside strings): one SSE `data:` line."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class EventIn(BaseModel):
    """A published event: a name for the client's `addEventListener`, and any JSON value."""

    model_config = ConfigDict(extra="forbid")

    event: EventName
    data: JsonValue = Field(description="any JSON value, null included; at most 64 KiB as JSON")

    @field_validator("data")
    @classmethod
    def _strict_json_within_limit(cls, value: JsonValue) -> JsonValue:
        # Python's JSON parser accepts NaN and Infinity; a browser's JSON.parse does not.
        try:
            text = to_json(value)
        except ValueError:
            raise ValueError("data must be standard JSON: NaN and Infinity are not allowed") from None
        if len(text.encode()) > MAX_DATA_BYTES:
            raise ValueError(f"data must be at most {MAX_DATA_BYTES} bytes as JSON")
        return value


class Published(BaseModel):
    id: str = Field(description="the event's id in its topic's stream; send it back as Last-Event-ID")


class TopicInfo(BaseModel):
    topic: str
    length: int = Field(description="events kept, at most EVENTS_STREAM_MAX_LENGTH")
    last_event_id: str | None
    subscribers: int = Field(description="streams open on this topic in this process")
