"""`python -m processing` (what `hatch run processing:serve` runs): the real process, a real client."""

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fastapi_testkit.process import served_module, uvicorn_arguments
from processing.__main__ import main

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


def test_it_serves_on_the_deployed_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PROCESSING_ACCESS_LOG", raising=False)
    served = uvicorn_arguments(main, [], monkeypatch)
    assert (served["loop"], served["http"], served["access_log"]) == ("uvloop", "httptools", False)

    monkeypatch.setenv("PROCESSING_ACCESS_LOG", "true")
    assert uvicorn_arguments(main, [], monkeypatch)["access_log"] is True
