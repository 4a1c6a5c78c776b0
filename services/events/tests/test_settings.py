"""Every documented `EVENTS_*` variable is read by `create_app()` and changes what the service does.

Each test sets the variables (monkeypatch), builds the app with no settings argument, as
`python -m events` does, and observes each through behaviour or what the lifespan created: a
renamed variable, a wrong `env_prefix` or a setting the code ignores fails here.
"""

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import patch

import httpx
import pytest

from events.__main__ import main
from events.app import create_app
from events.redis_client import RedisUnavailableError, open_redis
from events.settings import Settings
from fastapi_testkit import lifespan_client, live_server
from fastapi_testkit.process import free_port, uvicorn_arguments

from .helpers import publish, served_state

pytestmark = pytest.mark.lifespan

README = Path(__file__).parents[1] / "README.md"


@pytest.fixture
def redis_options() -> Iterator[list[dict[str, Any]]]:
    """The options the app hands `open_redis`, recorded; the call goes through."""
    calls: list[dict[str, Any]] = []

    async def recording(url: str | None, **options: Any) -> Any:
        calls.append({"url": url, **options})
        return await open_redis(url, **options)

    with patch("events.app.open_redis", new=recording):
        yield calls


def test_the_readme_documents_every_setting_and_nothing_else() -> None:
    """The service's own settings; those of serving.py (`EVENTS_ACCESS_LOG`, the connection
    limits) are the same in every service and documented in the root README."""
    documented = set(re.findall(r"^\| `(EVENTS_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))

    assert documented == {f"EVENTS_{name.upper()}" for name in Settings.model_fields}


async def test_the_redis_variables_are_honoured(
    monkeypatch: pytest.MonkeyPatch, redis_options: list[dict[str, Any]]
) -> None:
    # A server that does not answer: the startup fails naming it, after the client was configured.
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("EVENTS_REDIS_URL", url)
    monkeypatch.setenv("EVENTS_REDIS_MAX_CONNECTIONS", "7")
    monkeypatch.setenv("EVENTS_KEEPALIVE_INTERVAL", "0.25")
    monkeypatch.setenv("EVENTS_REDIS_TIMEOUT_MARGIN", "1.5")

    with pytest.raises(RedisUnavailableError, match=f"Redis at {re.escape(url)} did not answer"):
        async with lifespan_client(create_app()):
            pass  # pragma: no cover

    [options] = redis_options
    assert (options["url"], options["max_connections"]) == (url, 7)
    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (1.75, 1.5)


async def test_the_stream_variables_are_honoured(
    monkeypatch: pytest.MonkeyPatch, redis_url: str | None, redis_options: list[dict[str, Any]]
) -> None:
    if redis_url is not None:
        monkeypatch.setenv("EVENTS_REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("EVENTS_REDIS_URL", raising=False)
    monkeypatch.setenv("EVENTS_STREAM_MAX_LENGTH", "3")
    monkeypatch.setenv("EVENTS_KEEPALIVE_INTERVAL", "0.05")
    monkeypatch.setenv("EVENTS_REDIS_MAX_CONNECTIONS", "9")
    monkeypatch.setenv("EVENTS_SUBSCRIBER_BUFFER", "5")
    monkeypatch.setenv("EVENTS_REPLAY_SLOTS", "3")
    monkeypatch.setenv("EVENTS_MAX_BODY_BYTES", "100")

    async with live_server(create_app()) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        ids = [await publish(http, "news", i) for i in range(5)]
        info = (await http.get("/api/topics/news")).json()
        too_big = await http.post("/api/topics/news/events", json={"event": "e", "data": "x" * 100})
        async with asyncio.timeout(5), http.stream("GET", "/api/topics/quiet/stream") as response:
            # The first thing an idle stream sends, within a deadline far below the 10 s default.
            first = await anext(response.aiter_text())
        state = served_state(server)
        pool, hub = state["streams"].redis.connection_pool, state["hub"]

    assert (info["length"], info["last_event_id"]) == (3, ids[-1])
    assert too_big.status_code == 413, too_big.text
    assert first == ": keep-alive\n\n"
    assert pool.max_connections == 9
    assert (hub.buffer, hub.replay_slots) == (5, 3)
    assert redis_options[0]["url"] == redis_url


def test_the_access_log_variable_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENTS_ACCESS_LOG", "true")
    assert uvicorn_arguments(main, [], monkeypatch)["access_log"] is True
    monkeypatch.setenv("EVENTS_ACCESS_LOG", "false")
    assert uvicorn_arguments(main, [], monkeypatch)["access_log"] is False
