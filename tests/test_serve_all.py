"""`hatch run serve` (scripts/serve_all.py): the whole system up, used through the gateway, stopped."""

import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
import pytest
from websockets.sync.client import connect

from scripts.serve_all import SERVICES

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "serve_all.py"
STARTUP = 90.0  # five interpreters importing FastAPI at once on two cores


def free_base_port() -> int:
    """A port with len(SERVICES) free ports from it on."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + len(SERVICES) < 65536 and all(is_free(base + i) for i in range(len(SERVICES))):
            return base
    raise AssertionError("no run of free ports found")


def nobody_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Output:
    """The script's output, read on a thread so each wait has a deadline."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        self.reader = threading.Thread(target=self._pump, args=(process.stdout,), daemon=True)
        self.reader.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if text in line:
                return line
        raise AssertionError(f"{text!r} not printed within {timeout}s; output so far:\n{''.join(self.seen)}")


@contextmanager
def serving(tmp_path: Path, *options: str) -> Iterator[tuple[subprocess.Popen[str], Output, int]]:
    base = free_base_port()
    command = [sys.executable, str(SCRIPT), "--base-port", str(base), "--data-dir", str(tmp_path), *options]
    # The `with` closes the pipe when the process is gone; the `finally` makes sure it goes.
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        output = Output(process)
        try:
            yield process, output, base
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
                process.wait(timeout=30)
            output.reader.join(timeout=5)  # at end of output: the pipe is not closed under it


def test_the_system_serves_through_the_gateway_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    with serving(tmp_path) as (process, output, base):
        output.wait_for("all services answer", STARTUP)
        pids = [int(line.rsplit("pid", 1)[1]) for line in output.seen if " pid " in line and " | " not in line]
        gateway = f"http://127.0.0.1:{base}"
        with httpx.Client(base_url=gateway, timeout=10) as http:
            health = http.get("/health")
            assert health.status_code == 200, health.text
            assert set(health.json()["dependencies"].values()) == {"ok"}

            created = http.post("/processing/api/articles/", json={"title": "Hi", "content": "One. Two."})
            assert created.status_code == 201, created.text
            article = created.json()["id"]
            assert (reply := http.post(f"/processing/api/articles/{article}/process")).status_code == 202, reply.text
            deadline = time.monotonic() + 10
            while (status := http.get(f"/processing/api/articles/{article}").json()["status"]) != "processed":
                assert time.monotonic() < deadline, f"still {status}"
                time.sleep(0.05)
            assert (reply := http.get("/articles/api/articles/")).status_code == 200, reply.text
            assert (reply := http.get("/chat/health")).status_code == 200, reply.text
        # A WebSocket through the gateway, as the root README shows it.
        with connect(f"ws://127.0.0.1:{base}/chat/ws/chat/lobby", open_timeout=10) as ws:
            ws.send("hello")
            assert ws.recv(timeout=10) == "Room lobby: hello"

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=30) == 0
    assert len(pids) == len(SERVICES)
    # Every service's own log lines are prefixed with its name.
    assert {line.split(" | ")[0].strip() for line in output.seen if " | " in line} == set(SERVICES)
    assert all(nobody_listens(base + i) for i in range(len(SERVICES)))
    assert (tmp_path / "processing" / "processing.db").is_file()  # each service in its own folder


def test_when_one_service_dies_the_others_are_stopped_and_it_is_named(tmp_path: Path) -> None:
    with serving(tmp_path) as (process, output, base):
        output.wait_for("all services answer", STARTUP)
        events = next(line for line in output.seen if line.startswith("events") and " | " not in line)
        pid = int(events.rsplit("pid", 1)[1])

        os.kill(pid, signal.SIGKILL)

        output.wait_for("events exited", 10)
        assert process.wait(timeout=30) == 1
    assert all(nobody_listens(base + i) for i in range(len(SERVICES)))


def test_a_port_already_taken_is_refused_named_and_nothing_starts(tmp_path: Path) -> None:
    """Health checks on a port someone else holds would be answered by them: refuse instead."""
    base = free_base_port()
    chat = base + SERVICES.index("chat")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", chat))
        squatter.listen()
        command = [sys.executable, str(SCRIPT), "--base-port", str(base), "--data-dir", str(tmp_path)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)

        assert done.returncode == 2, done.stdout + done.stderr
        assert f"chat's port {chat} is already in use; started nothing" in done.stderr
        assert all(nobody_listens(base + i) for i in range(len(SERVICES)) if base + i != chat)


def test_ctrl_c_to_the_whole_process_group_of_hatch_run_serve_exits_0(tmp_path: Path) -> None:
    """What a terminal does on Ctrl-C: SIGINT to every process of the foreground group, Hatch too."""
    hatch = shutil.which("hatch")
    assert hatch is not None, "this test runs `hatch run serve`: install Hatch (README, Set up)"
    env = {k: v for k, v in os.environ.items() if k not in ("HATCH_ENV_ACTIVE", "VIRTUAL_ENV")}
    command = [hatch, "run", "serve", "--base-port", str(free_base_port()), "--data-dir", str(tmp_path)]
    with subprocess.Popen(
        command,
        cwd=SCRIPT.parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        output = Output(process)
        try:
            output.wait_for("all services answer", STARTUP)

            os.killpg(process.pid, signal.SIGINT)

            assert process.wait(timeout=30) == 0, "".join(output.seen)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.real_only(reason="PostgreSQL, and queue workers sharing a Redis stream")
def test_on_the_real_backend_processing_runs_on_its_queue_with_two_workers(tmp_path: Path) -> None:
    options = ("--backend", "real", "--processing-mode", "queue", "--workers", "2")
    with serving(tmp_path, *options) as (process, output, base):
        output.wait_for("all services answer", STARTUP)
        assert [line.split()[0] for line in output.seen if "(a queue worker)" in line] == ["worker-1", "worker-2"]
        with httpx.Client(base_url=f"http://127.0.0.1:{base}/processing", timeout=10) as http:
            ids = [
                http.post("/api/articles/", json={"title": "T", "content": "One. Two."}).json()["id"] for _ in range(4)
            ]
            assert [http.post(f"/api/articles/{i}/process").status_code for i in ids] == [202] * 4
            deadline = time.monotonic() + 30
            while {http.get(f"/api/articles/{i}").json()["status"] for i in ids} != {"processed"}:
                assert time.monotonic() < deadline, "not every article was processed by the workers"
                time.sleep(0.1)

        process.send_signal(signal.SIGINT)

        assert process.wait(timeout=30) == 0
