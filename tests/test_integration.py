"""The services together, through the gateway, all in this process.

The gateway's HTTP client gets the kit's `RoutingTransport`: articles and processing are their
real apps behind ASGI transports (lifespans running), so every call crosses real service code
with no network. The events stream is endless, and ASGITransport buffers a whole response, so
events and the gateway run under the kit's live server (uvicorn in this test's event loop)
and the stream is read over loopback sockets.

These run in the default environment, which installs every service; the services themselves
never import one another. On either backend they use SQLite files and fakeredis: what they
test is the services working together, which the storage does not change (each service's own
suite covers PostgreSQL and Redis).
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from asgi_lifespan import LifespanManager
from httpx_sse import EventSource, ServerSentEvent, aconnect_sse

import articles.app
import articles.settings
import chat.app
import chat.settings
import events.app
import events.settings
import gateway.app
import gateway.settings
import processing.app
import processing.settings
from fastapi_testkit import create_token, eventually, live_server
from fastapi_testkit.routing import RoutingTransport

pytestmark = [pytest.mark.lifespan, pytest.mark.slow]

SECRET = "integration-tests-secret-of-32-bytes!"
READ_TIMEOUT = 5.0


@dataclass
class System:
    http: httpx.AsyncClient  # talks to the gateway, over a socket
    token: str  # a valid token for the articles service


def sqlite(tmp_path: Path, name: str) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / name}.db"


async def in_process(stack: AsyncExitStack, app: Any) -> httpx.ASGITransport:
    """A transport to `app` with its lifespan running (ASGITransport alone never starts it)."""
    manager = await stack.enter_async_context(LifespanManager(app))
    return httpx.ASGITransport(app=manager.app)


@pytest.fixture
async def system(tmp_path: Path) -> AsyncIterator[System]:
    async with AsyncExitStack() as stack:
        articles_app = articles.app.create_app(
            articles.settings.Settings(database_url=sqlite(tmp_path, "articles"), redis_url=None, jwt_secret=SECRET)
        )
        processing_app = processing.app.create_app(
            processing.settings.Settings(database_url=sqlite(tmp_path, "processing"))
        )
        events_server = await stack.enter_async_context(
            live_server(events.app.create_app(events.settings.Settings(redis_url=None, keepalive_interval=0.5)))
        )
        # Chat under uvicorn too: its WebSockets cross the gateway over real sockets.
        chat_server = await stack.enter_async_context(live_server(chat.app.create_app(chat.settings.Settings())))
        routes: dict[str, httpx.AsyncBaseTransport] = {
            "articles.test": await in_process(stack, articles_app),
            "processing.test": await in_process(stack, processing_app),
            events_server.host: httpx.AsyncHTTPTransport(),  # events and chat: both on 127.0.0.1
        }
        settings = gateway.settings.Settings(
            articles_url="http://articles.test",
            processing_url="http://processing.test",
            events_url=events_server.url,
            chat_url=chat_server.url,
            database_url=sqlite(tmp_path, "gateway"),
            redis_url=None,
        )
        gateway_server = await stack.enter_async_context(
            live_server(gateway.app.create_app(settings, transport=RoutingTransport(routes)))
        )
        http = await stack.enter_async_context(httpx.AsyncClient(base_url=gateway_server.url, timeout=READ_TIMEOUT))
        yield System(http=http, token=create_token("alice", SECRET))


async def test_the_gateway_is_healthy_when_every_service_answers(system: System) -> None:
    response = await system.http.get("/health")

    assert response.status_code == 200, response.text
    assert response.json()["dependencies"] == dict.fromkeys(
        ["articles", "chat", "events", "processing", "redis", "database"], "ok"
    )


async def test_a_chat_room_works_through_the_gateway(system: System) -> None:
    base = str(system.http.base_url).rstrip("/").replace("http://", "ws://")
    async with (
        websockets.connect(f"{base}/chat/ws/chat/lobby") as alice,
        websockets.connect(f"{base}/chat/ws/chat/lobby") as bob,
    ):
        await alice.send("hello")
        async with asyncio.timeout(READ_TIMEOUT):
            assert await bob.recv() == "Room lobby: hello"
            assert await alice.recv() == "Room lobby: hello"


async def test_an_article_is_created_and_read_through_the_gateway(system: System) -> None:
    body = {"title": "Through the gateway", "content": "Proxied.", "status": "published"}
    auth = {"Authorization": f"Bearer {system.token}"}

    created = await system.http.post("/articles/api/articles/", json=body, headers=auth)
    refused = await system.http.post("/articles/api/articles/", json=body)

    assert created.status_code == 201, created.text
    assert created.json()["author_id"] == "alice"
    assert refused.status_code == 401, refused.text
    assert refused.headers["www-authenticate"] == "Bearer"  # the upstream's header reaches the client
    read = await system.http.get(f"/articles/api/articles/{created.json()['id']}")
    assert read.json() == created.json()


async def test_a_text_submitted_for_processing_gets_its_summary(system: System) -> None:
    content = "Gateways forward requests. Background tasks summarise texts. The summary comes later."
    created = await system.http.post("/processing/api/articles/", json={"title": "Summarise", "content": content})
    url = f"/processing/api/articles/{created.json()['id']}"

    started = await system.http.post(f"{url}/process")

    assert started.status_code == 202, started.text
    assert started.json() == {"status": "processing_started"}

    async def processed() -> bool:
        article = (await system.http.get(url)).json()
        assert article["status"] == "processed", article
        return bool(article["summary"])

    await eventually(processed, timeout=10)


async def test_a_published_event_is_read_back_from_the_stream(system: System) -> None:
    publish = "/events/api/topics/integration/events"
    first = await system.http.post(publish, json={"event": "note", "data": {"n": 1}})
    second = await system.http.post(publish, json={"event": "note", "data": {"n": 2}})
    assert first.status_code == second.status_code == 201, (first.text, second.text)

    # Resume after the first: the second is replayed, then a third arrives live, all through
    # the gateway, which forwards Last-Event-ID and streams the answer event by event.
    headers = {"Last-Event-ID": first.json()["id"]}
    async with aconnect_sse(system.http, "GET", "/events/api/topics/integration/stream", headers=headers) as source:
        assert source.response.status_code == 200, source.response.text
        events = data_events(source)
        replayed = await anext_within(events)
        third = await system.http.post(publish, json={"event": "note", "data": {"n": 3}})
        live = await anext_within(events)

    assert (replayed.id, replayed.event, replayed.json()) == (second.json()["id"], "note", {"n": 2})
    assert (live.id, live.json()) == (third.json()["id"], {"n": 3})


async def test_the_dashboard_shows_articles_and_processing_counts(system: System) -> None:
    auth = {"Authorization": f"Bearer {system.token}"}
    published = {"title": "On the dashboard", "content": "Shown.", "status": "published"}
    await system.http.post("/articles/api/articles/", json=published, headers=auth)
    await system.http.post("/processing/api/articles/", json={"title": "Waiting", "content": "Pending."})

    response = await system.http.get("/api/dashboard")

    assert response.status_code == 200, response.text
    dashboard = response.json()
    assert [a["title"] for a in dashboard["articles"]["data"]] == ["On the dashboard"]
    assert dashboard["processing"] == {
        "ok": True,
        "data": {"pending": 1, "processing": 0, "processed": 0, "failed": 0},
    }
    stats = (await system.http.get("/api/stats")).json()
    assert set(stats) == {"articles", "processing"}  # the proxied calls, recorded per service


async def data_events(source: EventSource) -> AsyncIterator[ServerSentEvent]:
    """The stream's events, without the keep-alive comments (httpx-sse yields those as empty events)."""
    async for event in source.aiter_sse():
        if event.data:
            yield event


async def anext_within(events: AsyncIterator[ServerSentEvent]) -> ServerSentEvent:
    """The next event, or a failure after READ_TIMEOUT seconds: never a hang."""
    try:
        async with asyncio.timeout(READ_TIMEOUT):
            return await anext(events)
    except TimeoutError:
        raise AssertionError(f"no event within {READ_TIMEOUT}s") from None
