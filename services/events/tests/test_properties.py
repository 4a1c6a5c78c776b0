"""What schemathesis cannot reach on the live stream (tests/test_fuzz.py leaves it out: a valid
request never completes in-process), driven with hypothesis: any topic, any Last-Event-ID in the
header or the query. A bad one is a 422 naming it and the rule; a good one starts a stream; never a 5xx.
"""

import re
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from events.schemas import EVENT_ID, TOPIC
from fastapi_testkit import LifespanClient
from fastapi_testkit.sse import sse_stream

pytestmark = pytest.mark.sse

ID_RULE = "an event id is the 'id' of an event this stream sent"
TOPIC_RULE = "a topic is 1 to 64 characters"
# The fixtures (an app, a client) are shared by a test's examples on purpose: nothing here stores.
EXAMPLES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# What an HTTP header can carry (visible ASCII and spaces inside), and ids near the rule's edges.
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=45).map(str.strip)
near_ids = st.from_regex(r"\A[0-9]{0,21}-?[0-9]{0,21}(-[0-9])?\Z")
any_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=70)


def is_id(value: str) -> bool:
    return re.fullmatch(EVENT_ID, value) is not None


def is_topic(value: str) -> bool:
    """The rule, stated apart from the service's pattern: a dot segment is no topic."""
    return re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", value) is not None and value not in (".", "..")


async def refused(client: LifespanClient, loc: list[str], rule: str, **request: object) -> None:
    response = await client.get("/api/topics/news/stream", **request)  # type: ignore[arg-type]
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert (error["loc"], rule in error["msg"]) == (loc, True), error


@EXAMPLES
@given(value=header_text | near_ids)
async def test_a_last_event_id_header_is_a_stream_or_a_clear_422(client: LifespanClient, value: str) -> None:
    if is_id(value):
        return  # a stream: in-process it never completes; the live test below opens such ids
    await refused(client, ["header", "Last-Event-ID"], ID_RULE, headers={"Last-Event-ID": value})


@EXAMPLES
@given(value=any_text | near_ids)
async def test_a_last_event_id_query_parameter_is_a_stream_or_a_clear_422(client: LifespanClient, value: str) -> None:
    if is_id(value):
        return
    await refused(client, ["query", "last_event_id"], ID_RULE, params={"last_event_id": value})


@EXAMPLES
@given(topic=any_text.filter(lambda t: t and "/" not in t))
@example(topic=".")
@example(topic="..")
@example(topic="...")
async def test_any_topic_is_answered_or_refused_by_name_never_a_5xx(client: LifespanClient, topic: str) -> None:
    # "" is no path segment at all, and %2F is decoded before routing: each makes another path
    # (another route, a redirect, "/stream" an endless one), not a topic. Dots are sent encoded,
    # or the client would normalise "." and ".." away; the app decodes them and must refuse them.
    response = await client.get(f"/api/topics/{quote(topic, safe='').replace('.', '%2E')}")

    if is_topic(topic):
        assert response.status_code == 200, response.text
        assert response.json()["topic"] == topic
    else:
        assert response.status_code == 422, (topic, response.text)
        [error] = response.json()["detail"]
        assert (error["loc"], TOPIC_RULE in error["msg"]) == (["path", "topic"], True), error


@settings(EXAMPLES, max_examples=25)
@given(
    value=st.from_regex(rf"\A{EVENT_ID}\Z"),
    topic=st.from_regex(rf"\A{TOPIC}\Z"),
    where=st.sampled_from(["header", "query"]),
)
# The rule's edges around dot segments: "." and ".." are no topic (a client normalises them away,
# and "/api/topics/./stream" is the topic "stream"'s info); these are topics, and reachable.
@example(value="0-0", topic="...", where="header")
@example(value="0-0", topic=".a", where="query")
@example(value="0-0", topic="..a", where="header")
async def test_every_valid_last_event_id_and_topic_starts_a_stream(
    http: httpx.AsyncClient, value: str, topic: str, where: str
) -> None:
    """Over a live server: ids at the edges (0-0, 19 digits, leading zeros) reach Redis, which takes them."""
    headers = {"Last-Event-ID": value} if where == "header" else {}
    params = {"last_event_id": value} if where == "query" else {}
    async with sse_stream(http, f"/api/topics/{topic}/stream", headers=headers, params=params) as stream:
        assert stream.received == []  # a 200 event stream (sse_stream checks), nothing published
