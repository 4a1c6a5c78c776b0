"""`python -m processing` (what `hatch run processing:serve` runs): the real process, a real client."""

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fastapi_testkit import eventually

from .conftest import create_article, wait_for_status

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The service on its embedded defaults, its port from PORT, run in an empty folder."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCESSING_")} | {"PORT": str(port)}
    log = tmp_path / "server.log"
    with log.open("w") as output:
        process = subprocess.Popen([sys.executable, "-m", "processing"], cwd=tmp_path, env=env, stderr=output)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            # uvicorn shuts down gracefully, then re-raises SIGTERM, so the exit status is -SIGTERM.
            assert process.wait(timeout=10) == -signal.SIGTERM
    assert "Application shutdown complete" in log.read_text()  # the lifespan disposed of its engine
    assert (tmp_path / "processing.db").is_file()  # the embedded default: a SQLite file where it ran


async def test_the_served_app_processes_an_article_for_a_real_client(served: str) -> None:
    async with httpx.AsyncClient(base_url=served, timeout=5) as http:

        async def healthy() -> bool:
            try:
                return bool((await http.get("/health")).json() == {"status": "ok"})
            except httpx.TransportError:
                return False

        await eventually(healthy, timeout=15, message="the server never answered /health")
        article = await create_article(http, content="A real process. A real socket. A real summary.")
        triggered = await http.post(f"/api/articles/{article['id']}/process")
        processed = await wait_for_status(http, article["id"], "processed")

    assert triggered.status_code == 202
    assert processed["summary"] == "A real process. A real socket."


def test_the_port_option_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from processing import __main__

    calls: list[dict[str, object]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    monkeypatch.setenv("PORT", "9001")

    __main__.main(["--port", "9002"])
    __main__.main([])

    assert [c["port"] for c in calls] == [9002, 9001]
    assert calls[0]["factory"] is True
