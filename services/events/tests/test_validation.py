"""Refused input: every case is a 422 naming the field and saying what is allowed, never a 500.

Refusals are answered before a stream starts, so the in-process client reads them, even on
the endless route (only a stream that starts never completes).
"""

from typing import Any

import pytest

from events.schemas import MAX_DATA_BYTES
from fastapi_testkit import LifespanClient

pytestmark = pytest.mark.sse

TOPIC_RULE = "a topic is 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-', other than '.' and '..'"
ID_RULE = "an event id is the 'id' of an event this stream sent: '<milliseconds>-<sequence>'"
ROUTES = ["/api/events/{}", "/api/topics/{}/stream", "/api/topics/{}"]


def only_error(response: Any) -> dict[str, Any]:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return dict(error)


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("topic", ["a b", "x" * 65, "caf%C3%A9", "semi;colon", "star*", "%00"])
async def test_a_bad_topic_is_refused_on_every_route(client: LifespanClient, route: str, topic: str) -> None:
    error = only_error(await client.get(route.format(topic)))

    assert error["loc"] == ["path", "topic"]
    assert TOPIC_RULE in error["msg"]


async def test_a_bad_topic_is_refused_when_publishing(client: LifespanClient) -> None:
    error = only_error(await client.post("/api/topics/a%20b/events", json={"event": "e", "data": 1}))

    assert (error["loc"], TOPIC_RULE in error["msg"]) == (["path", "topic"], True)


@pytest.mark.parametrize(
    ("method", "route"), [*(("GET", route) for route in ROUTES), ("POST", "/api/topics/{}/events")]
)
@pytest.mark.parametrize("topic", ["%2E", "%2E%2E"], ids=[".", ".."])
async def test_a_dot_segment_is_no_topic_on_any_route(
    client: LifespanClient, method: str, route: str, topic: str
) -> None:
    """Encoded, `.` and `..` reach the app (Starlette decodes them into the path's segment); sent
    as they are, every HTTP client normalises them away, so no client could read such a topic."""
    response = await client.request(method, route.format(topic), json={"event": "e", "data": 1})
    error = only_error(response)

    assert (error["loc"], TOPIC_RULE in error["msg"]) == (["path", "topic"], True)


async def test_the_longest_topic_and_every_allowed_character_are_accepted(client: LifespanClient) -> None:
    for topic in ("x" * 64, "Az09_.-"):
        response = await client.post(f"/api/topics/{topic}/events", json={"event": "e", "data": 1})
        assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("two\nlines", "a single line"),
        ("carriage\rreturn", "a single line"),
        ("nul\x00", "a single line"),
        ("", "at least 1 character"),
        ("x" * 65, "at most 64 characters"),
    ],
    ids=["newline", "carriage return", "NUL", "empty", "too long"],
)
async def test_a_bad_event_name_is_refused(client: LifespanClient, event: str, message: str) -> None:
    error = only_error(await client.post("/api/topics/news/events", json={"event": event, "data": 1}))

    assert error["loc"] == ["body", "event"]
    assert message in error["msg"]


@pytest.mark.parametrize(
    ("body", "loc", "message"),
    [
        (b"not json", ["body", 0], "JSON decode error"),
        (b'{"event": "e", "data": 1', ["body", 24], "JSON decode error"),
        (b"", ["body"], "Field required"),
        (b"[1]", ["body"], "valid dictionary"),
        (b'{"event": "e"}', ["body", "data"], "Field required"),
        (b'{"data": 1}', ["body", "event"], "Field required"),
        (b'{"event": "e", "data": 1, "extra": 1}', ["body", "extra"], "Extra inputs are not permitted"),
        # Python's JSON parser reads these; a browser's JSON.parse would not.
        (b'{"event": "e", "data": NaN}', ["body", "data"], "NaN and Infinity are not allowed"),
        (b'{"event": "e", "data": [-Infinity]}', ["body", "data"], "NaN and Infinity are not allowed"),
    ],
    ids=["not JSON", "truncated", "empty", "not an object", "no data", "no event", "unknown field", "NaN", "Infinity"],
)
async def test_a_bad_body_is_refused(client: LifespanClient, body: bytes, loc: list[Any], message: str) -> None:
    response = await client.post("/api/topics/news/events", content=body, headers={"Content-Type": "application/json"})

    error = only_error(response)
    assert error["loc"] == loc
    assert message in error["msg"]


async def test_data_larger_than_the_limit_is_refused(client: LifespanClient) -> None:
    too_big = "x" * MAX_DATA_BYTES  # its JSON adds two quotes
    error = only_error(await client.post("/api/topics/news/events", json={"event": "e", "data": too_big}))

    assert (error["loc"], error["msg"]) == (
        ["body", "data"],
        f"Value error, data must be at most {MAX_DATA_BYTES} bytes as JSON",
    )
    fits = "x" * (MAX_DATA_BYTES - 2)
    assert (
        reply := await client.post("/api/topics/news/events", json={"event": "e", "data": fits})
    ).status_code == 201, reply.text


BAD_IDS = ["abc", "1", "1-", "-1", "1-2-3", "1-x", " 1-0", "\u0661-0", f"{2**64}-0", f"0-{2**64}"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_a_malformed_last_event_id_header_is_refused(client: LifespanClient, bad_id: str) -> None:
    error = only_error(await client.get("/api/topics/news/stream", headers=[(b"Last-Event-ID", bad_id.encode())]))

    assert error["loc"] == ["header", "Last-Event-ID"]
    assert ID_RULE in error["msg"]


@pytest.mark.parametrize("bad_id", BAD_IDS)
async def test_a_malformed_last_event_id_query_parameter_is_refused(client: LifespanClient, bad_id: str) -> None:
    error = only_error(await client.get("/api/topics/news/stream", params={"last_event_id": bad_id}))

    assert error["loc"] == ["query", "last_event_id"]
    assert ID_RULE in error["msg"]
