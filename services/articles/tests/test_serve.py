"""`python -m articles` (what `hatch run articles:serve` runs): the real process, a real client."""

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from articles.__main__ import main
from articles.serving import ServingSettings
from fastapi_testkit import create_token, live_server
from fastapi_testkit.probes import assert_connection_limits, probe
from fastapi_testkit.process import served_module, uvicorn_arguments
from service_runtime.serving import DenyingWebSocketProtocol, GuardedHttpToolsProtocol, guarded

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The service on its embedded defaults, its port from PORT, run in an empty folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLES_")}
    with served_module("articles", tmp_path, env=env) as server:
        yield server.url
    # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
    assert server.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in server.log  # the lifespan closed its pools
    assert (tmp_path / "articles.db").is_file()  # the embedded default: a SQLite file where it ran


async def test_the_served_app_answers_a_real_client(served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        # The default secret, as someone trying the service locally would use it.
        token = create_token("alice", "change-me-in-production-a-32-byte-key")
        created = await http.post(
            "/api/articles/",
            json={"title": "Hello", "content": "From a real socket", "status": "published"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert created.status_code == 201, created.text
        listed = await http.get("/api/articles/")
        fetched = await http.get(f"/api/articles/{created.json()['id']}")

    assert listed.json() == [created.json()]
    assert fetched.json() == created.json()


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")

    served = uvicorn_arguments(main, [], monkeypatch)

    assert served["port"] == 9001
    assert served["factory"] is True  # a fresh app from create_app(), reading its settings
    assert uvicorn_arguments(main, ["--port", "9002"], monkeypatch)["port"] == 9002


def test_it_serves_on_the_deployed_stack_with_its_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ARTICLES_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["ws"], served["access_log"]) == ("uvloop", DenyingWebSocketProtocol, False)
    assert issubclass(served["http"], GuardedHttpToolsProtocol)  # httptools, with deadlines and caps

    monkeypatch.setenv("ARTICLES_ACCESS_LOG", "true")
    monkeypatch.setenv("ARTICLES_HEAD_TIMEOUT", "2.5")
    monkeypatch.setenv("ARTICLES_WS_MAX_BYTES", "1000")
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["access_log"], served["http"].limits.head_timeout, served["ws_max_size"]) == (True, 2.5, 1000)


def test_the_served_process_refuses_oversized_and_stalled_connections(tmp_path: Path) -> None:
    """Over a real socket, on the serving stack: 414, 431 at once; 408 and a close for what stalls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARTICLES_")}
    with served_module(
        "articles", tmp_path, env=env | {"ARTICLES_HEAD_TIMEOUT": "0.5", "ARTICLES_BODY_TIMEOUT": "0.5"}
    ) as server:
        assert_connection_limits(server.url, head_timeout=0.5, body_timeout=0.5)


def test_on_the_defaults_a_connection_that_sends_nothing_is_closed_after_ten_seconds(served: str) -> None:
    """The one test of the real head deadline (ARTICLES_HEAD_TIMEOUT, 10 s); the rest scale it down."""
    reply = probe(served, b"", patience=15)

    assert reply.closed, reply
    assert 9.5 <= reply.seconds <= 12.5, reply


async def test_the_guarded_protocol_refuses_oversized_and_stalled_connections_in_process(app: FastAPI) -> None:
    """The same probes against the app under uvicorn in this process, where coverage sees the protocol."""
    limits = ServingSettings(head_timeout=0.5, body_timeout=0.5)
    async with live_server(app, http=guarded(limits), ws=DenyingWebSocketProtocol) as server:
        await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
