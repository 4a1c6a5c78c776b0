"""The article's TestClient tests, corrected, on the service's rooms.

Their smallest form, on a plain echo and with no test kit, is examples/websocket_chat/ at the
repository root. Here they run against the service's rooms through Starlette's `TestClient`,
which runs the app in a thread of its own, so these tests are synchronous: the article's
"easier" way, which still works. What changed from the article:

- each receive has a deadline (`receive_text_sync`): TestClient's own `receive_text()` waits
  forever, so a broadcast that never comes would hang the test instead of failing it;
- the messages are compared whole (`==`), not with `in`, which an echo of anything would pass;
- a disconnect is proven by the room emptying and the connection's tasks ending, not only by a
  next connection working;
- the rejected token asserts the answer, HTTP 401 (TestClient, like uvicorn, carries the app's
  denial response; httpx-ws sees close code 4001), not `pytest.raises(Exception)`, which passes
  on any error at all (a typo in the URL, a crashed app);
- the accepted token asserts the answer, `pong`, not `is not None`, which nothing can fail.
"""

import asyncio
import time
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse

from fastapi_testkit.websocket import receive_text_sync

from .helpers import token

pytestmark = pytest.mark.websocket


def test_websocket_multiple_messages(app: FastAPI) -> None:
    with TestClient(app) as client, client.websocket_connect("/ws/chat/general") as ws:
        for i in range(3):
            ws.send_text(f"Message {i}")
            assert receive_text_sync(ws) == f"Room general: Message {i}"


def running_tasks(client: TestClient) -> set[str]:
    """The names of the tasks running in the app's event loop (TestClient runs it in a thread)."""

    async def names() -> set[str]:
        return {task.get_name() for task in asyncio.all_tasks()} - {asyncio.current_task().get_name()}  # type: ignore[union-attr]

    return client.portal.call(names)  # type: ignore[union-attr]  # set while the client is entered


def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait for `condition` with a deadline: the server sees a disconnect a moment after the client."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not true after {timeout}s"
        time.sleep(0.01)


def test_websocket_disconnect_handled(app: FastAPI) -> None:
    """The server handles a disconnect cleanly: the member leaves its room, its tasks end, and the
    next connection to the room works."""
    with TestClient(app) as client:
        idle = running_tasks(client)
        with client.websocket_connect("/ws/chat/room2") as ws:
            ws.send_text("First message")
            assert receive_text_sync(ws) == "Room room2: First message"
            assert client.get("/api/rooms").json() == [{"room_id": "room2", "members": 1}]
            assert running_tasks(client) > idle  # the connection's reader, writer and watcher
        until(lambda: client.get("/api/rooms").json() == [])
        until(lambda: running_tasks(client) == idle)
        with client.websocket_connect("/ws/chat/room2") as ws:
            ws.send_text("After disconnect")
            assert receive_text_sync(ws) == "Room room2: After disconnect"


@pytest.mark.auth
def test_websocket_requires_valid_token(app: FastAPI) -> None:
    # The server refuses before accepting, with an HTTP answer; TestClient raises on entering the block.
    with (
        TestClient(app) as client,
        pytest.raises(WebSocketDenialResponse) as refused,
        client.websocket_connect("/ws/notifications?token=invalid"),
    ):
        pass  # pragma: no cover (never entered)

    assert refused.value.status_code == 401
    assert refused.value.json()["detail"].startswith("invalid token")


@pytest.mark.auth
def test_websocket_valid_token_accepted(app: FastAPI) -> None:
    with TestClient(app) as client, client.websocket_connect(f"/ws/notifications?token={token(user_id='1')}") as ws:
        ws.send_text("ping")
        assert receive_text_sync(ws) == "pong"


def test_a_receive_that_gets_nothing_fails_instead_of_hanging(app: FastAPI) -> None:
    with (
        TestClient(app) as client,
        client.websocket_connect("/ws/chat/quiet") as ws,
        pytest.raises(TimeoutError, match=r"within 0\.2s"),
    ):
        receive_text_sync(ws, timeout=0.2)
