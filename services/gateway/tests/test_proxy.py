"""The proxy: what it passes on, what it refuses, and how it fails when an upstream does."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, HTTPException

from fastapi_testkit import LifespanClient, LiveServer, eventually
from gateway.proxy import checked_path
from gateway.settings import Settings

from .helpers import chunks, failing

pytestmark = pytest.mark.proxy


async def test_a_request_reaches_the_upstream_path_with_method_query_body_and_auth(client: LifespanClient) -> None:
    response = await client.post(
        "/articles/api/articles/?limit=5&q=a%20b",
        content=b'{"title": "x"}',
        headers={"Authorization": "Bearer t0ken", "Content-Type": "application/json", "Cookie": "session=secret"},
    )

    assert response.status_code == 200, response.text
    echoed = response.json()
    assert echoed["upstream"] == "articles"
    assert (echoed["method"], echoed["path"], echoed["query"]) == ("POST", "/api/articles/", "limit=5&q=a%20b")
    assert echoed["body"] == '{"title": "x"}'
    assert echoed["headers"]["authorization"] == "Bearer t0ken"
    assert "cookie" not in echoed["headers"]  # the gateway's cookies are not the upstream's business
    assert echoed["headers"]["x-forwarded-for"] == "127.0.0.1"


async def test_a_resuming_stream_client_keeps_its_last_event_id(client: LifespanClient) -> None:
    """An SSE client that reconnects sends Last-Event-ID so the upstream resumes after it."""
    response = await client.get("/events/api/topics/news/stream", headers={"Last-Event-ID": "1700000000000-3"})

    assert response.status_code == 200, response.text
    assert response.json()["headers"]["last-event-id"] == "1700000000000-3"


# Not ASCII: a Latin-1 byte, as a real client may send in any header value.
NOT_ASCII = b"caf\xe9"


@pytest.mark.parametrize("name", ["User-Agent", "Authorization", "Accept", "Last-Event-ID"])
async def test_a_header_value_that_is_not_ascii_reaches_the_upstream_as_its_bytes(
    client: LifespanClient, name: str
) -> None:
    """httpx refuses a str header value that is not ASCII: decoded and forwarded as text, such a
    value is a 500; sent straight to the service, it is answered normally."""
    response = await client.get("/articles/x", headers={name.encode(): NOT_ASCII})

    assert response.status_code == 200, response.text
    assert response.json()["headers"][name.lower()].encode("latin-1") == NOT_ASCII


@pytest.mark.sse
async def test_streams_with_a_header_that_is_not_ascii_give_their_slot_back(
    client: LifespanClient, settings: Settings
) -> None:
    """A request that fails before the `try` that releases a stream's slot keeps it: past the
    per-client cap of streams, its client would be refused every stream (429) until a restart."""
    streams = settings.max_streams_per_client + 1
    odd = {b"accept": b"text/event-stream", b"user-agent": NOT_ASCII, b"last-event-id": NOT_ASCII}

    answers = [(await client.get("/events/api/topics/news/stream", headers=odd)).status_code for _ in range(streams)]
    after = await client.get("/events/api/topics/news/stream", headers={"Accept": "text/event-stream"})

    assert answers == [200] * streams
    assert after.status_code == 200, after.text


@pytest.mark.parametrize("service", ["articles", "events", "processing"])
async def test_each_service_name_routes_to_its_upstream(client: LifespanClient, service: str) -> None:
    response = await client.get(f"/{service}/anything")

    assert response.json()["upstream"] == service
    assert response.headers["x-upstream"] == service


async def test_the_upstreams_status_and_headers_come_back(client: LifespanClient) -> None:
    response = await client.get("/articles/private", params={"status": 401})

    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("streamed", [False, True])
async def test_one_date_and_one_server_header_reach_the_client_over_a_real_socket(
    live_server: LiveServer, streamed: bool
) -> None:
    """The upstream's server and the gateway's each set Date and Server; the client gets the
    gateway's alone, from an answer sent whole and from one relayed as it comes."""
    from gateway.proxy import BUFFERED_MAX_BYTES

    pad = BUFFERED_MAX_BYTES if streamed else 0
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        response = await http.get("/articles/small", params={"served": 1, "pad": pad})

    assert response.status_code == 200, response.text
    assert ("content-length" not in response.headers) is streamed
    assert len(response.headers.get_list("date")) == 1
    assert response.headers.get_list("server") == ["uvicorn"]


async def test_a_slash_redirect_of_an_upstream_is_followed_through_the_gateway(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """FastAPI redirects `/api/articles` to `/api/articles/`, on the URL it was asked at: the
    upstream's own. Relayed as it was, the client went around the gateway and its limits."""
    articles = FastAPI()

    @articles.get("/api/articles/")
    async def listed(limit: int) -> list[int]:
        return list(range(limit))

    upstreams["articles.test"] = httpx.ASGITransport(app=articles)

    response = await client.get("/articles/api/articles", params={"limit": 1})
    followed = await client.get("/articles/api/articles", params={"limit": 1}, follow_redirects=True)

    assert (response.status_code, response.headers["location"]) == (307, "/articles/api/articles/?limit=1")
    assert (followed.status_code, followed.json(), followed.url.path) == (200, [0], "/articles/api/articles/")


@pytest.mark.parametrize("streamed", [False, True], ids=["sent whole", "streamed"])
@pytest.mark.parametrize(
    ("location", "relayed"),
    [
        ("http://articles.test/api/x/?q=1#top", "/articles/api/x/?q=1#top"),
        ("/api/x/", "/articles/api/x/"),  # on the upstream's origin, which it implies
        ("y", "/articles/api/y"),  # relative to the upstream path asked, /api/x
        ("//articles.test/z", "/articles/z"),
        ("http://articles.test", "/articles/"),
        ("http://elsewhere.test/login", None),  # another origin: None, left as it is
        ("https://articles.test/api/x/", None),  # another scheme is another origin
        ("http://articles.test:8080/api/x/", None),  # and another port
        ("http://chat.test/api/x/", None),  # another upstream's: not this service's path
    ],
)
async def test_a_location_on_the_upstreams_origin_leads_to_the_gateways_path(
    client: LifespanClient, location: str, relayed: str | None, streamed: bool
) -> None:
    from gateway.proxy import BUFFERED_MAX_BYTES

    params: dict[str, str | int] = {"status": 302, "location": location, "pad": BUFFERED_MAX_BYTES if streamed else 0}
    response = await client.get("/articles/api/x", params=params)

    assert response.status_code == 302, response.text
    assert ("content-length" not in response.headers) is streamed  # the relay asked for
    assert response.headers.get_list("location") == [relayed or location]


async def test_an_unknown_service_is_404(client: LifespanClient) -> None:
    response = await client.get("/billing/api/invoices")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Unknown service 'billing'"}


@pytest.mark.parametrize(
    "raw_path",
    [
        "/articles/%2e%2e/admin",
        "/articles/%2E%2E/admin",
        "/articles/%252e%252e/admin",
        "/articles/..%2fadmin",
        "/articles/..%5cadmin",
    ],
)
async def test_a_path_that_climbs_out_of_its_service_is_400(client: LifespanClient, raw_path: str) -> None:
    # Built from raw bytes: httpx would otherwise normalise `..` away before sending.
    request = client.build_request("GET", "http://testserver")
    request.url = request.url.copy_with(raw_path=raw_path.encode())

    response = await client.send(request)

    assert response.status_code == 400, response.text
    assert response.json() == {"detail": "Path must not contain '..' segments"}


@pytest.mark.parametrize("raw_path", ["/articles/../admin", "/articles/api/..", "/articles/a/../../admin"])
async def test_a_literal_dot_dot_is_400_over_a_real_socket(live_server: LiveServer, raw_path: str) -> None:
    """httpx (like browsers) removes `..` before sending, so this one goes out as raw bytes."""
    reader, writer = await asyncio.open_connection(live_server.host, live_server.port)
    writer.write(f"GET {raw_path} HTTP/1.1\r\nHost: gateway\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    async with asyncio.timeout(5):
        answer = await reader.read()
    writer.close()
    await writer.wait_closed()

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Path must not contain '..' segments" in answer


@pytest.mark.parametrize(
    ("path", "refused"),
    [("api/articles/", False), ("a/b/../c", True), ("..", True), ("a..b/c", False), ("a/%2e%2e", True)],
)
def test_checked_path_refuses_only_dot_dot_segments(path: str, refused: bool) -> None:
    if refused:
        with pytest.raises(HTTPException) as raised:
            checked_path(path)
        assert raised.value.status_code == 400, raised.value.detail
    else:
        assert checked_path(path) == path


async def test_a_body_over_the_limit_is_413(client: LifespanClient) -> None:
    response = await client.post("/articles/x", content=b"x" * 1025)

    assert response.status_code == 413, response.text
    assert response.json() == {"detail": "Request body over 1024 bytes"}


async def test_a_streamed_body_over_the_limit_is_413_without_a_content_length(client: LifespanClient) -> None:
    response = await client.post("/articles/x", content=chunks([b"x" * 600, b"x" * 600]))

    assert response.status_code == 413, response.text


async def test_a_body_at_the_limit_passes(client: LifespanClient) -> None:
    response = await client.post("/articles/x", content=b"x" * 1024)

    assert response.json()["body"] == "x" * 1024


async def test_a_refused_connection_is_502_naming_the_service(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    upstreams["events.test"] = failing(httpx.ConnectError("Connection refused"))

    response = await client.get("/events/api/events/news")

    assert response.status_code == 502, response.text
    assert response.json()["service"] == "events"
    assert "events is unreachable" in response.json()["detail"]


@pytest.mark.parametrize("error", [httpx.ReadTimeout("slow"), httpx.ConnectTimeout("slow")])
async def test_a_timeout_is_504_naming_the_service(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport], error: httpx.TimeoutException
) -> None:
    upstreams["processing.test"] = failing(error)

    response = await client.get("/processing/api/articles/1")

    assert response.status_code == 504, response.text
    assert response.json() == {"detail": "processing did not answer in time", "service": "processing"}


async def test_an_upstream_that_breaks_off_mid_answer_ends_it_cleanly(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport], caplog: pytest.LogCaptureFixture
) -> None:
    """A transport error after the headers (a read timeout, a reset) ends the body, and a
    warning says why; raised inside the response, it would be "Exception in ASGI application"."""

    class BreaksOff(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"data: first\n\n"
            raise httpx.ReadTimeout("silent upstream")

    upstreams["events.test"] = httpx.MockTransport(lambda request: httpx.Response(200, stream=BreaksOff()))

    response = await client.get("/events/stream")

    assert response.status_code == 200, response.text
    assert response.text == "data: first\n\n"
    assert [(r.levelname, r.name) for r in caplog.records if "broke off" in r.getMessage()] == [
        ("WARNING", "gateway.proxy")
    ]


async def test_a_client_that_leaves_mid_body_is_no_server_error(
    live_server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Over a real socket: the request announces 100 bytes, sends 5, and hangs up."""
    _, writer = await asyncio.open_connection(live_server.host, live_server.port)
    writer.write(b"POST /articles/x HTTP/1.1\r\nHost: gateway\r\nContent-Length: 100\r\n\r\nhello")
    await writer.drain()
    writer.close()
    await writer.wait_closed()

    async def nothing_in_flight() -> bool:
        return not live_server.server.server_state.tasks

    await eventually(nothing_in_flight, message="the request was never finished")
    assert "Exception in ASGI application" not in caplog.text
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        metrics = (await http.get("/metrics")).text
    assert "gateway_requests_total{" not in metrics  # nothing was forwarded


class Body(httpx.AsyncByteStream):
    """An answer's body as a real transport gives it: read as it comes (a `content=` answer is
    read already, and cannot be relayed again)."""

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body


def answering(body: bytes) -> httpx.MockTransport:
    headers = {"content-type": "application/json", "content-length": str(len(body))}
    return httpx.MockTransport(lambda request: httpx.Response(200, headers=headers, stream=Body(body)))


async def test_a_small_answer_of_known_length_is_sent_whole_with_its_length(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Read whole and sent as one body (bench/README.md: streamed, a small JSON answer cost a task
    group, chunked framing and a socket write more), with its Content-Length."""
    body = b'{"items": [' + b"1," * 1000 + b"1]}"
    upstreams["articles.test"] = answering(body)

    response = await client.get("/articles/api/articles/")

    assert response.status_code == 200, response.text
    assert response.content == body
    assert response.headers["content-length"] == str(len(body))
    assert "transfer-encoding" not in response.headers


async def test_an_answer_longer_than_the_buffer_is_streamed(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    from gateway.proxy import BUFFERED_MAX_BYTES

    body = b"x" * (BUFFERED_MAX_BYTES + 1)
    upstreams["articles.test"] = answering(body)

    response = await client.get("/articles/big")

    assert response.status_code == 200, response.text
    assert response.content == body
    assert "content-length" not in response.headers  # relayed as it came: its length is not promised


async def test_a_small_answer_that_breaks_off_is_a_502_not_a_truncated_200(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Read whole before anything is sent, so a broken answer can still be told as one."""

    class BreaksOff(httpx.AsyncByteStream):
        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b'{"partial'
            raise httpx.RemoteProtocolError("peer closed connection")

    upstreams["articles.test"] = httpx.MockTransport(
        lambda request: httpx.Response(200, headers={"content-length": "100"}, stream=BreaksOff())
    )

    response = await client.get("/articles/api/articles/1")

    assert response.status_code == 502, response.text
    assert response.json()["service"] == "articles"


# Headers about the upstream's connection to the gateway, none of the client's business; the
# upstream's Connection header names one more of its own (RFC 9110, section 7.6.1).
HOP_BY_HOP = {
    "connection": "close, X-Hop-Secret",
    "keep-alive": "timeout=5",
    "transfer-encoding": "chunked",
    "te": "trailers",
    "trailer": "Expires",
    "upgrade": "h2c",
    "x-hop-secret": "1",
}


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "streamed"])
async def test_hop_by_hop_headers_of_an_answer_are_not_relayed(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport], streamed: bool
) -> None:
    from gateway.proxy import BUFFERED_MAX_BYTES

    body = b"x" * (BUFFERED_MAX_BYTES + 1 if streamed else 10)
    headers = HOP_BY_HOP | {"content-length": str(len(body)), "x-end-to-end": "kept"}
    upstreams["articles.test"] = httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=Body(body))
    )

    response = await client.get("/articles/x")

    assert response.status_code == 200, response.text
    assert response.content == body
    assert ("content-length" in response.headers) is not streamed  # the whole answer's length is its own
    assert response.headers["x-end-to-end"] == "kept"
    assert sorted(set(response.headers) & set(HOP_BY_HOP)) == []
