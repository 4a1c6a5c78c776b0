"""Every documented CHAT_* variable is read by create_app() from the environment, and honoured.

The server's own (CHAT_HEAD_TIMEOUT, CHAT_WS_MAX_BYTES, CHAT_ACCESS_LOG, ...: serving.py) are read
by `python -m chat`, and tests/test_serve.py proves them.

(The other tests build Settings by hand, so a wrong `env_prefix` would leave them green.)
"""

import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect
from pymongo.errors import ServerSelectionTimeoutError
from redis.asyncio import BlockingConnectionPool

from chat.app import create_app
from chat.fanout import RedisFanOut
from chat.history_writer import HistoryWriter
from chat.settings import Settings
from fastapi_testkit import create_token, lifespan_client
from fastapi_testkit.websocket import WebSocketConnector

from .helpers import token

README = Path(__file__).parents[1] / "README.md"
SECRET = "a-secret-only-the-environment-knows-32b"

# Every variable but CHAT_MONGO_URL (its own test below): its text, and the value it must give.
ENVIRONMENT: dict[str, tuple[str, Any]] = {
    "CHAT_MAX_BODY_BYTES": ("300", 300),
    "CHAT_REDIS_URL": ("fakeredis://test-settings", "fakeredis://test-settings"),
    "CHAT_REDIS_MAX_CONNECTIONS": ("7", 7),
    "CHAT_REDIS_POOL_TIMEOUT": ("2.5", 2.5),
    "CHAT_JWT_SECRET": (SECRET, SECRET),
    "CHAT_JWT_LEEWAY": ("30", 30.0),
    "CHAT_MAX_MESSAGE_BYTES": ("10", 10),
    "CHAT_SEND_TIMEOUT": ("2.5", 2.5),
    "CHAT_QUEUE_SIZE": ("11", 11),
    "CHAT_QUEUE_BYTES": ("12345", 12345),
    "CHAT_SEND_RATE": ("33.5", 33.5),
    "CHAT_SEND_BURST": ("44", 44),
    "CHAT_HISTORY_QUEUE_SIZE": ("55", 55),
    "CHAT_HISTORY_FLUSH_TIMEOUT": ("6.5", 6.5),
}


def documented_variables() -> set[str]:
    """The variables in the README's settings table."""
    return set(re.findall(r"^\| `(CHAT_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))


def test_the_readme_documents_every_setting_and_nothing_else() -> None:
    assert documented_variables() == {f"CHAT_{name.upper()}" for name in Settings.model_fields}
    assert documented_variables() == set(ENVIRONMENT) | {"CHAT_MONGO_URL"}  # and this file sets each


async def test_create_app_reads_every_variable_and_honours_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, (text, _) in ENVIRONMENT.items():
        monkeypatch.setenv(name, text)
    app = create_app()  # no settings given: the environment's
    async with lifespan_client(app) as client:
        settings: Settings = client.state["settings"]
        assert {name: getattr(settings, name[len("CHAT_") :].lower()) for name in ENVIRONMENT} == {
            name: value for name, (_, value) in ENVIRONMENT.items()
        }
        assert isinstance(client.state["fanout"], RedisFanOut)  # CHAT_REDIS_URL: rooms go through Redis
        writer: HistoryWriter = client.state["history_writer"]  # test_history_writer.py: what they do
        assert (writer.queue_size, writer.flush_timeout) == (55, 6.5)
        ws = WebSocketConnector(app, state=client.state)
        # CHAT_JWT_SECRET: a token signed with it is accepted; the suite's usual one is not.
        async with ws.connect("/ws/notifications", params={"token": create_token("alice", SECRET)}) as inbox:
            await inbox.send_text("ping")
            assert await inbox.receive_text() == "pong"
        with pytest.raises(WebSocketDisconnect) as refused:
            async with ws.connect("/ws/notifications", params={"token": token()}):
                pass  # pragma: no cover (closed before accept)
        assert refused.value.code == 4001
        # CHAT_JWT_LEEWAY: a token valid 20 s from now is accepted (10 s by default).
        not_yet = create_token("alice", SECRET, nbf=int(time.time()) + 20)
        async with ws.connect("/ws/notifications", params={"token": not_yet}) as inbox:
            await inbox.send_text("ping")
            assert await inbox.receive_text() == "pong"
        # CHAT_MAX_MESSAGE_BYTES: 10 bytes pass, 11 close the socket with 1009.
        async with ws.connect("/ws/chat/lobby") as member:
            await member.send_text("x" * 10)
            assert await member.receive_text() == f"Room lobby: {'x' * 10}"
            await member.send_text("x" * 11)
            with pytest.raises(WebSocketDisconnect) as closed:
                await member.receive_text()
        assert closed.value.code == 1009
        # CHAT_MAX_BODY_BYTES: a body over 300 bytes is a 413.
        body = {"user_id": "alice", "message": "x" * 300}
        response = await client.post("/api/notifications", json=body, headers={"Authorization": f"Bearer {token()}"})
        assert response.status_code == 413, response.text


async def test_create_app_uses_the_mongo_url_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CHAT_MONGO_URL", f"mongodb://127.0.0.1:{port}/chat?serverSelectionTimeoutMS=200")

    with pytest.raises(ServerSelectionTimeoutError, match=f"127.0.0.1:{port}"):
        async with lifespan_client(create_app()):
            pass  # pragma: no cover


@pytest.mark.real_only(reason="the pool is redis-py's: fakeredis has none")
async def test_the_redis_pool_is_sized_and_waits_as_the_environment_says(
    monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("CHAT_REDIS_URL", redis_url)
    monkeypatch.setenv("CHAT_REDIS_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("CHAT_REDIS_POOL_TIMEOUT", "2.5")

    async with lifespan_client(create_app()) as client:
        fanout: RedisFanOut = client.state["fanout"]
        pool = fanout.redis.connection_pool

    assert isinstance(pool, BlockingConnectionPool)  # a publish past the pool waits for a connection
    assert (pool.max_connections, pool.timeout) == (7, 2.5)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CHAT_REDIS_POOL_TIMEOUT", "0"),
        ("CHAT_REDIS_POOL_TIMEOUT", "-1"),
        ("CHAT_REDIS_POOL_TIMEOUT", "soon"),
        ("CHAT_REDIS_MAX_CONNECTIONS", "0"),
        ("CHAT_JWT_LEEWAY", "-1"),
    ],
)
def test_a_bad_value_fails_at_startup_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name.removeprefix("CHAT_").lower()):
        create_app()
