"""`python -m processing` (what `hatch run processing:serve` runs): the real process, a real client."""

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import live_server
from fastapi_testkit.probes import assert_connection_limits
from fastapi_testkit.process import served_module, uvicorn_arguments
from processing.__main__ import main
from processing.serving import ServingSettings
from service_runtime.serving import DenyingWebSocketProtocol, GuardedHttpToolsProtocol, guarded

from .helpers import create_article, wait_for_status

pytestmark = pytest.mark.slow


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The service on its embedded defaults, its port from PORT, run in an empty folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCESSING_")}
    with served_module("processing", tmp_path, env=env) as server:
        yield server.url
    # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
    assert server.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in server.log  # the lifespan disposed of its engine
    assert (tmp_path / "processing.db").is_file()  # the embedded default: a SQLite file where it ran


async def test_the_served_app_processes_an_article_for_a_real_client(served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:
        assert (await http.get("/health")).json() == {"status": "ok"}
        article = await create_article(http, content="A real process. A real socket. A real summary.")
        triggered = await http.post(f"/api/articles/{article['id']}/process")
        processed = await wait_for_status(http, article["id"], "processed")

    assert triggered.status_code == 202, triggered.text
    assert processed["summary"] == "A real process. A real socket."


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")

    served = uvicorn_arguments(main, [], monkeypatch)

    assert served["port"] == 9001
    assert served["factory"] is True  # a fresh app from create_app(), reading its settings
    assert uvicorn_arguments(main, ["--port", "9002"], monkeypatch)["port"] == 9002


def test_it_serves_on_the_deployed_stack_with_its_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROCESSING_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["ws"], served["access_log"]) == ("uvloop", DenyingWebSocketProtocol, False)
    assert issubclass(served["http"], GuardedHttpToolsProtocol)  # httptools, with deadlines and caps

    monkeypatch.setenv("PROCESSING_ACCESS_LOG", "true")
    monkeypatch.setenv("PROCESSING_HEAD_TIMEOUT", "2.5")
    monkeypatch.setenv("PROCESSING_WS_MAX_BYTES", "1000")
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["access_log"], served["http"].limits.head_timeout, served["ws_max_size"]) == (True, 2.5, 1000)


def test_the_served_process_refuses_oversized_and_stalled_connections(tmp_path: Path) -> None:
    """Over a real socket, on the serving stack: 414, 431 at once; 408 and a close for what stalls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCESSING_")}
    with served_module(
        "processing", tmp_path, env=env | {"PROCESSING_HEAD_TIMEOUT": "0.5", "PROCESSING_BODY_TIMEOUT": "0.5"}
    ) as server:
        assert_connection_limits(server.url, head_timeout=0.5, body_timeout=0.5)


async def test_the_guarded_protocol_refuses_oversized_and_stalled_connections_in_process(app: FastAPI) -> None:
    """The same probes against the app under uvicorn in this process, where coverage sees the protocol."""
    limits = ServingSettings(head_timeout=0.5, body_timeout=0.5)
    async with live_server(app, http=guarded(limits), ws=DenyingWebSocketProtocol) as server:
        await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
