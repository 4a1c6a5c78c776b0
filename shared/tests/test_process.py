"""served_module: a module run as a real process, reached over a socket, stopped cleanly."""

import signal
import socket
from pathlib import Path

import httpx
import pytest

from fastapi_testkit.process import free_port, served_module, uvicorn_arguments

APP = """
import os
import uvicorn
from fastapi import FastAPI

app = FastAPI()

@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "cwd": os.getcwd(), "greeting": os.environ.get("GREETING", "")}

uvicorn.run(app, host="127.0.0.1", port=int(os.environ["PORT"]))
"""


STUBBORN = """
import os, signal
from http.server import BaseHTTPRequestHandler, HTTPServer

class Health(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()

signal.signal(signal.SIGTERM, signal.SIG_IGN)
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Health).serve_forever()
"""


@pytest.fixture
def module(tmp_path: Path) -> str:
    (tmp_path / "tiny_service.py").write_text(APP)
    return "tiny_service"


def test_a_free_port_can_be_bound() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", free_port()))


def test_the_module_is_served_in_its_folder_with_the_given_environment(module: str, tmp_path: Path) -> None:
    with served_module(module, tmp_path, env={"GREETING": "hello"}) as served:
        answer = httpx.get(f"{served.url}/health").json()

    assert answer == {"status": "ok", "cwd": str(tmp_path), "greeting": "hello"}
    # uvicorn shuts down gracefully on SIGTERM, then re-raises it: the exit status is -SIGTERM.
    assert served.process.returncode == -signal.SIGTERM
    assert "Application shutdown complete" in served.log


def test_a_process_that_dies_at_startup_fails_with_its_output(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise SystemExit('cannot start: no config')")

    with (
        pytest.raises(RuntimeError, match=r"exited with 1:\ncannot start: no config"),
        served_module("broken", tmp_path),
    ):
        pass  # pragma: no cover


def test_a_process_that_never_listens_fails_after_the_timeout(tmp_path: Path) -> None:
    (tmp_path / "silent.py").write_text("import time\ntime.sleep(30)")

    with (
        pytest.raises(RuntimeError, match=r"no answer on .* after 0\.5s"),
        served_module("silent", tmp_path, startup_timeout=0.5),
    ):
        pass  # pragma: no cover


def test_a_process_that_ignores_sigterm_is_killed(tmp_path: Path) -> None:
    # Not uvicorn, which installs a SIGTERM handler of its own.
    (tmp_path / "stubborn.py").write_text(STUBBORN)

    with served_module("stubborn", tmp_path, shutdown_timeout=0.5) as served:
        pass

    assert served.process.returncode == -signal.SIGKILL


def test_uvicorn_arguments_are_what_main_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    def main(argv: list[str]) -> None:
        import uvicorn

        uvicorn.run("app:create_app", factory=True, port=int(argv[0]) if argv else 8000)

    assert uvicorn_arguments(main, ["9002"], monkeypatch) == {"factory": True, "port": 9002}
    assert uvicorn_arguments(main, [], monkeypatch)["port"] == 8000


def test_uvicorn_arguments_insist_on_exactly_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AssertionError, match=r"called uvicorn\.run 0 times"):
        uvicorn_arguments(lambda argv: None, [], monkeypatch)


def test_a_given_port_is_used_so_a_killed_process_can_come_back_where_it_was(module: str, tmp_path: Path) -> None:
    port = free_port()
    with served_module(module, tmp_path, port=port) as first:
        first.process.kill()
        first.process.wait()
    with served_module(module, tmp_path, port=port) as second:
        assert second.url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{second.url}/health").status_code == 200


ELSEWHERE = """
import os, sys
import uvicorn
from fastapi import FastAPI

app = FastAPI()

@app.get("/ready")
def ready() -> dict[str, object]:
    return {"argv": sys.argv[1:], "port_variable": os.environ.get("PORT")}

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[sys.argv.index("--port") + 1]))
"""


def test_the_port_argument_and_the_health_path_are_the_callers(tmp_path: Path) -> None:
    """A service of another project: the port on its command line, readiness on /ready, no /health."""
    (tmp_path / "other_service.py").write_text(ELSEWHERE)

    with served_module(
        "other_service", tmp_path, args=["--port", "{port}"], port_variable=None, health_path="/ready", env={}
    ) as served:
        answer = httpx.get(f"{served.url}/ready").json()

    port = served.url.rpartition(":")[2]
    assert answer == {"argv": ["--port", port], "port_variable": None}
    assert "GET /ready" in served.log  # waited on /ready ...
    assert "GET /health" not in served.log  # ... and never asked /health


def test_the_port_goes_in_the_variable_the_caller_names(tmp_path: Path) -> None:
    (tmp_path / "app_port.py").write_text(APP.replace('os.environ["PORT"]', 'os.environ["APP_PORT"]'))

    with served_module("app_port", tmp_path, port_variable="APP_PORT", env={}) as served:
        assert httpx.get(f"{served.url}/health").status_code == 200
