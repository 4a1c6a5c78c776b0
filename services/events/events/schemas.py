"""What the API accepts and answers: topics, event ids, event bodies."""

import json
import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, WithJsonSchema, field_validator

# 1 to 64 of these characters, except "." and "..": a dot segment is never a path segment a client
# can send (`/api/topics/./stream` is normalised to `/api/topics/stream`, another route). Spelt
# out without a lookahead, which hypothesis and schemathesis cannot generate from.
TOPIC = r"(?:[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}|\.[A-Za-z0-9_-][A-Za-z0-9_.-]{0,62}|\.\.[A-Za-z0-9_.-]{1,62})"
# [0-9], not \d: \d also matches other scripts' digits, which Redis would refuse. Each half of a
# stream id is an unsigned 64-bit integer; 19 digits always fit (a millisecond clock has 13), and
# a rule a regular expression can state is one the OpenAPI document can state exactly.
EVENT_ID = r"[0-9]{1,19}-[0-9]{1,19}"
# No control characters: a line break would end the SSE `event:` line early and inject fields.
EVENT_NAME = r"[^\x00-\x1f\x7f]{1,64}"
MAX_DATA_BYTES = 64 * 1024


def _check_topic(value: str) -> str:
    if not re.fullmatch(TOPIC, value):
        raise ValueError("a topic is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-', other than '.' and '..'")
    return value


def _check_event_id(value: str) -> str:
    if not re.fullmatch(EVENT_ID, value):
        raise ValueError("an event id is the 'id' of an event this stream sent: '<milliseconds>-<sequence>'")
    return value


def _check_event_name(value: str) -> str:
    # A line break would end the SSE `event:` field early and inject fields of its own.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("an event name is a single line, without control characters")
    return value


# The validators give each refusal its own message; the patterns tell the OpenAPI document (and
# the clients and fuzzers that read it) the same rule.
Topic = Annotated[str, AfterValidator(_check_topic), WithJsonSchema({"type": "string", "pattern": f"^{TOPIC}$"})]
EventId = Annotated[
    str, AfterValidator(_check_event_id), WithJsonSchema({"type": "string", "pattern": f"^{EVENT_ID}$"})
]
EventName = Annotated[
    str,
    Field(min_length=1, max_length=64),
    AfterValidator(_check_event_name),
    WithJsonSchema({"type": "string", "minLength": 1, "maxLength": 64, "pattern": f"^{EVENT_NAME}$"}),
]


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
