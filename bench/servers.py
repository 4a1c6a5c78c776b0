"""Server processes: start one per app, wait until it listens, read its memory, stop it for sure.

Every server runs in its own process group (so a stop reaches anything it started) and is
registered until it has been stopped; `stop_all` is what the entry point's `finally` and
signal handlers call, so an interrupted run leaves no process and no port behind.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 8.0  # longer than the events service's 3 s graceful shutdown


class ServerStartError(RuntimeError):
    """A server did not start; the message says why (the end of its log)."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]
    workdir: Path
    log_path: Path
    _closed: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])

    def _status_kib(self, key: str) -> int | None:
        try:
            for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def peak_rss_mb(self) -> float | None:
        """The server's peak resident memory so far (VmHWM), Linux only."""
        kib = self._status_kib("VmHWM")
        return None if kib is None else kib / 1024

    def rss_mb(self) -> float | None:
        kib = self._status_kib("VmRSS")
        return None if kib is None else kib / 1024

    def cpu_seconds(self) -> float:
        """User plus system CPU the server has used so far (Linux /proc), 0.0 if unknown."""
        try:
            fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self._closed:
            return
        self._closed = True
        _running.discard(self)
        if self.process.poll() is None:
            _signal_group(self.process, signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                _signal_group(self.process, signal.SIGKILL)
                self.process.wait(STOP_TIMEOUT)
        # The group may hold children that outlived the leader.
        _signal_group(self.process, signal.SIGKILL)
        # The working directory goes, unless the log shows an error: then it is kept to read.
        try:
            failed = "Traceback" in self.log_path.read_text(errors="replace")
        except OSError:
            failed = False
        if failed:
            kept_logs.append(self.log_path)
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __hash__(self) -> int:
        return id(self)


_running: set[Server] = set()
kept_logs: list[Path] = []  # logs of servers that logged a traceback, kept for reading


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def start(
    name: str,
    module_args: list[str],
    env: dict[str, str] | None = None,
    workdir: Path | None = None,
    *,
    ready_line: str | None = None,
) -> Server:
    """`python -m <module_args...> --port N` in a fresh working directory; returns once it listens.

    With `ready_line`, a process that listens on nothing (a queue worker): no `--port`, and it is
    ready once its log holds that line. The working directory is where embedded backends put
    their files (a SQLite database).
    """
    port = free_port() if ready_line is None else 0
    workdir = workdir or Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    log_path = workdir / f"{name}.log"
    child_env = {**os.environ, **(env or {}), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    port_args = ["--port", str(port)] if ready_line is None else []
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", *module_args, *port_args],
            cwd=workdir,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: a stop reaches all it started
        )
    server = Server(name, port, process, workdir, log_path)
    _running.add(server)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            server.stop()
            raise ServerStartError(f"{name} exited with {process.returncode}: {server.log_tail()}")
        if _ready(server, ready_line):
            return server
        time.sleep(0.1)
    server.stop()
    raise ServerStartError(f"{name} was not ready within {START_TIMEOUT:g} s: {server.log_tail()}")


def _ready(server: Server, ready_line: str | None) -> bool:
    if ready_line is not None:
        try:
            return ready_line in server.log_path.read_text(errors="replace")
        except OSError:
            return False
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=0.2):
            return True
    except OSError:
        return False


def stop_all() -> None:
    for server in list(_running):
        server.stop()
