"""`python -m gateway` (what `hatch run gateway:serve` runs): the real process, a real client.

The whole system is started and used through the gateway by the repository's
tests/test_serve_all.py; alone, the gateway's own pools work and its upstreams are missing.
"""

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import live_server
from fastapi_testkit.probes import assert_connection_limits
from fastapi_testkit.process import free_port, served_module, uvicorn_arguments
from gateway.__main__ import main
from gateway.serving import ServingSettings
from service_runtime.serving import DenyingWebSocketProtocol, GuardedHttpToolsProtocol, guarded

pytestmark = pytest.mark.slow


def test_the_served_gateway_reports_its_missing_upstreams(tmp_path: Path) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env |= {f"GATEWAY_{name}_URL": nowhere for name in ("ARTICLES", "CHAT", "EVENTS", "PROCESSING")}

    with served_module("gateway", tmp_path, env=env) as server:
        health = httpx.get(f"{server.url}/health", timeout=10)
        proxied = httpx.get(f"{server.url}/articles/api/articles/", timeout=10)

    assert health.status_code == 503, health.text
    assert health.json()["dependencies"] == {
        "articles": "unreachable: ConnectError",
        "chat": "unreachable: ConnectError",
        "events": "unreachable: ConnectError",
        "processing": "unreachable: ConnectError",
        "redis": "ok",  # the embedded fakeredis
        "database": "ok",  # the embedded SQLite file
    }
    assert proxied.status_code == 502, proxied.text
    assert proxied.json()["service"] == "articles"
    assert server.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in server.log
    assert (tmp_path / "gateway.db").is_file()


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "9001")

    served = uvicorn_arguments(main, [], monkeypatch)

    assert served["port"] == 9001
    assert served["factory"] is True  # a fresh app from create_app(), reading its settings
    assert uvicorn_arguments(main, ["--port", "9002"], monkeypatch)["port"] == 9002


def test_it_serves_on_the_deployed_stack_with_its_limits_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["ws"], served["access_log"]) == ("uvloop", DenyingWebSocketProtocol, False)
    assert issubclass(served["http"], GuardedHttpToolsProtocol)  # httptools, with deadlines and caps

    monkeypatch.setenv("GATEWAY_ACCESS_LOG", "true")
    monkeypatch.setenv("GATEWAY_HEAD_TIMEOUT", "2.5")
    monkeypatch.setenv("GATEWAY_WS_MAX_BYTES", "1000")
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["access_log"], served["http"].limits.head_timeout, served["ws_max_size"]) == (True, 2.5, 1000)


def test_the_served_process_refuses_oversized_and_stalled_connections(tmp_path: Path) -> None:
    """Over a real socket, on the serving stack: 414, 431 at once; 408 and a close for what stalls."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    with served_module(
        "gateway", tmp_path, env=env | {"GATEWAY_HEAD_TIMEOUT": "0.5", "GATEWAY_BODY_TIMEOUT": "0.5"}
    ) as server:
        assert_connection_limits(server.url, head_timeout=0.5, body_timeout=0.5)


def test_uvicorn_does_not_believe_forwarded_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn trusts X-Forwarded-For from 127.0.0.1 by default and rewrites the peer from it, so
    any local client could pick its own address for the rate limit (identity.py decides instead)."""
    served = uvicorn_arguments(main, [], monkeypatch)

    assert (served.get("proxy_headers"), served.get("forwarded_allow_ips")) == (False, "")


async def test_the_guarded_protocol_refuses_oversized_and_stalled_connections_in_process(app: FastAPI) -> None:
    """The same probes against the app under uvicorn in this process, where coverage sees the protocol."""
    limits = ServingSettings(head_timeout=0.5, body_timeout=0.5)
    async with live_server(app, http=guarded(limits), ws=DenyingWebSocketProtocol) as server:
        await asyncio.to_thread(assert_connection_limits, server.url, head_timeout=0.5, body_timeout=0.5)
