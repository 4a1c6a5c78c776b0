"""The WebSocket helpers (httpx-ws without its pitfalls, TestClient with deadlines), and the Mongo backend."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import httpx
import pytest
from fastapi import FastAPI, WebSocket
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport

from fastapi_testkit import lifespan_client, plugin
from fastapi_testkit.backends import MONGO_HELP, BackendUnavailableError, drop_mongo_database, mongo_worker_url
from fastapi_testkit.websocket import WebSocketConnector, receive_text_sync

from .test_plugin import CONFIG

pytestmark = pytest.mark.websocket


def make_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        yield {"greeting": "hello"}

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/echo/{name}")
    async def echo(websocket: WebSocket, name: str) -> None:
        await websocket.accept()
        async for text in websocket.iter_text():
            await websocket.send_text(f"{name}: {text}")

    @app.websocket("/greet")
    async def greet(websocket: WebSocket) -> None:
        await websocket.accept()
        websocket.state.greeting = "changed"  # a connection's own copy of the lifespan state
        await websocket.send_text(websocket.state.greeting)

    @app.websocket("/state")
    async def state(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(websocket.state.greeting)
        await websocket.close()

    @app.websocket("/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(4001, "no")

    @app.websocket("/silent")
    async def silent(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.receive_text()

    return app


async def test_an_exception_in_the_block_comes_out_as_itself() -> None:
    ws = WebSocketConnector(make_app())
    with pytest.raises(ValueError, match="boom"):
        async with ws.connect("/echo/a"), ws.connect("/echo/b"):
            raise ValueError("boom")


async def test_sessions_share_the_running_lifespan_state_each_with_its_own_copy() -> None:
    app = make_app()
    async with lifespan_client(app) as client:
        ws = WebSocketConnector(app, state=client.state)
        async with ws.connect("/greet") as greet:
            assert await greet.receive_text() == "changed"
        async with ws.connect("/state") as state:
            assert await state.receive_text() == "hello"  # the change stayed in its connection
    assert client.state["greeting"] == "hello"


async def test_without_state_the_app_runs_no_lifespan() -> None:
    # What the bare transport does: a route reading lifespan state fails. Hence `state=`.
    ws = WebSocketConnector(make_app())
    async with ws.connect("/state") as session:
        with pytest.raises(WebSocketDisconnect) as closed:
            await session.receive_text()
    assert closed.value.code == 1011


async def test_every_receive_has_a_deadline() -> None:
    ws = WebSocketConnector(make_app(), receive_timeout=0.1)
    async with ws.connect("/silent") as session:
        with pytest.raises(TimeoutError, match=r"nothing received on the WebSocket within 0\.1s"):
            await session.receive_text()
        with pytest.raises(TimeoutError, match=r"within 0\.05s"):
            await session.receive_bytes(timeout=0.05)


async def test_a_close_before_accept_raises_with_the_servers_code() -> None:
    ws = WebSocketConnector(make_app())
    with pytest.raises(WebSocketDisconnect) as closed:
        async with ws.connect("/refuse"):
            pass  # pragma: no cover

    assert (closed.value.code, closed.value.reason) == (4001, "no")


async def test_several_exceptions_from_the_block_stay_a_group() -> None:
    """Only a lone exception is unwrapped; several are not hidden behind one of them."""
    ws = WebSocketConnector(make_app())

    with pytest.raises(ExceptionGroup) as raised:
        async with ws.connect("/echo/a"):
            raise ExceptionGroup("two", [ValueError("one"), KeyError("other")])

    assert raised.group_contains(ValueError, match="one")
    assert raised.group_contains(KeyError)


async def test_concurrent_handshakes_each_reach_their_own_path() -> None:
    ws = WebSocketConnector(make_app())

    async def visit(i: int) -> str:
        # One task per session, from open to close: httpx-ws's task groups must be exited in
        # the task that entered them ("exit cancel scope in a different task" otherwise).
        async with ws.connect(f"/echo/{i}") as session:
            await session.send_text("hi")
            return await session.receive_text()

    assert await asyncio.gather(*(visit(i) for i in range(10))) == [f"{i}: hi" for i in range(10)]


async def test_the_race_the_connector_avoids_still_exists_in_httpx_ws() -> None:
    """Ten handshakes at once on one httpx-ws client: they reach the wrong paths.

    The transport keeps the scope of the handshake in progress on itself. When this test fails,
    httpx-ws has fixed the race, and the connector's client per connection can go.
    """
    transport = ASGIWebSocketTransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:

        async def visit(i: int) -> str:
            async with aconnect_ws(f"/echo/{i}", http, session_class=AsyncWebSocketSession) as session:
                await session.send_text("hi")
                text: str = await session.receive_text(timeout=5)
                return text

        answers = await asyncio.gather(*(visit(i) for i in range(10)))

    assert answers != [f"{i}: hi" for i in range(10)]


# Starlette 1.x warns on importing TestClient that it moves to httpx2 (a UserWarning subclass);
# the kit stays on httpx, which users have. Imported here, so only this test needs the filter.
@pytest.mark.filterwarnings("ignore:.*httpx2.*:starlette.exceptions.StarletteDeprecationWarning")
def test_receive_text_sync_reads_a_testclient_session_with_a_deadline() -> None:
    from fastapi.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect as StarletteWebSocketDisconnect

    with TestClient(make_app()) as client:
        with client.websocket_connect("/echo/sync") as session:
            session.send_text("hi")
            assert receive_text_sync(session) == "sync: hi"
            with pytest.raises(TimeoutError, match=r"within 0\.1s"):
                receive_text_sync(session, timeout=0.1)
            # The session is still usable after a timed-out read.
            session.send_text("again")
            assert receive_text_sync(session) == "sync: again"
        with client.websocket_connect("/state") as session:
            assert receive_text_sync(session) == "hello"
            with pytest.raises(StarletteWebSocketDisconnect) as closed:
                receive_text_sync(session)
            assert closed.value.code == 1000


# The Mongo backend: the `mongo_url` fixture and its helpers. No MongoDB server runs on the
# development and CI machines, so these check the wiring and the failure path without one.


@pytest.mark.parametrize(
    ("url", "worker", "expected"),
    [
        ("mongodb://h:27017", "master", "mongodb://h:27017/testkit_master"),
        ("mongodb://h:27017/chat?tls=true", "gw1", "mongodb://h:27017/testkit_gw1?tls=true"),
        ("mongodb://u:p@h/chat", "gw0", "mongodb://u:p@h/testkit_gw0?authSource=chat"),
        ("mongodb://u:p@h", "gw0", "mongodb://u:p@h/testkit_gw0?authSource=admin"),
        ("mongodb://u:p@h/chat?authSource=users", "gw2", "mongodb://u:p@h/testkit_gw2?authSource=users"),
    ],
)
def test_each_xdist_worker_gets_its_own_mongo_database(url: str, worker: str, expected: str) -> None:
    """The credentials keep being checked where they were: the old path becomes the authSource."""
    assert mongo_worker_url(url, worker) == expected


class RefusingMongoClient:
    """Stands in for `pymongo.AsyncMongoClient`: every server is unreachable; records its calls.

    Not a real client on a closed port: PyMongo (4.20) leaves its monitor's socket unclosed
    when the client closes while that socket is still connecting, and the ResourceWarning of
    its garbage collection fails whichever test runs at that moment.
    """

    calls: ClassVar[list[str]] = []

    def __init__(self, url: str, *, serverSelectionTimeoutMS: int) -> None:  # noqa: N803 (PyMongo's name)
        self.calls.append(f"connect {url} {serverSelectionTimeoutMS}")

    def get_default_database(self) -> str:
        return "testkit_master"

    async def drop_database(self, name: str) -> None:
        from pymongo.errors import ServerSelectionTimeoutError

        self.calls.append(f"drop {name}")
        raise ServerSelectionTimeoutError("127.0.0.1:1: [Errno 111] Connection refused")

    async def close(self) -> None:
        self.calls.append("close")


async def test_an_unreachable_mongo_names_its_url_and_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import pymongo

    monkeypatch.setattr(pymongo, "AsyncMongoClient", RefusingMongoClient)
    monkeypatch.setattr(RefusingMongoClient, "calls", [])
    url = "mongodb://u:secret@127.0.0.1:1/testkit_master"

    with pytest.raises(BackendUnavailableError) as raised:
        await drop_mongo_database(url, timeout=0.2)

    assert "MongoDB at mongodb://u:***@127.0.0.1:1/testkit_master did not answer" in str(raised.value)
    assert "mongod" in str(raised.value)
    assert RefusingMongoClient.calls == [f"connect {url} 200", "drop testkit_master", "close"]


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini(CONFIG)
    return pytester


MONGO_FIXTURE_TEST = """
def test_url(mongo_url):
    assert mongo_url == {expected!r}
"""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param([], None, id="embedded"),
        pytest.param(["--backend", "real"], None, id="real-without-a-mongo-url"),
        pytest.param(["--mongo-url", "mongodb://h:1"], None, id="embedded-with-a-mongo-url"),
    ],
)
def test_mongo_url_is_none_unless_a_real_server_is_given(
    project: pytest.Pytester, args: list[str], expected: str | None
) -> None:
    project.makepyfile(MONGO_FIXTURE_TEST.format(expected=expected))

    project.runpytest(*args).assert_outcomes(passed=1)


def test_mongo_url_drops_the_workers_database_before_and_after(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    dropped: list[str] = []

    async def record(url: str) -> None:
        dropped.append(url)

    monkeypatch.setattr(plugin, "drop_mongo_database", record)
    monkeypatch.setenv("TESTKIT_MONGO_URL", "mongodb://h:1")
    project.makepyfile(MONGO_FIXTURE_TEST.format(expected="mongodb://h:1/testkit_master"))

    project.runpytest("--backend", "real").assert_outcomes(passed=1)

    assert dropped == ["mongodb://h:1/testkit_master", "mongodb://h:1/testkit_master"]


def test_an_unreachable_real_mongo_fails_the_run_with_its_url(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def unreachable(url: str) -> None:
        raise BackendUnavailableError("MongoDB", url, ConnectionRefusedError(), MONGO_HELP)

    monkeypatch.setattr(plugin, "drop_mongo_database", unreachable)
    project.makepyfile(
        """
        def test_one(mongo_url):
            pass

        def test_two(mongo_url):
            pass
        """
    )

    result = project.runpytest("--backend", "real", "--mongo-url", "mongodb://h:1")

    result.assert_outcomes(errors=1)  # the run stopped after the first
    result.stdout.fnmatch_lines(["*MongoDB at mongodb://h:1/testkit_master did not answer*mongod*"])
