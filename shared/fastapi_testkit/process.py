"""A service as a real process: `python -m <module>` on a free port, until it is stopped."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def uvicorn_arguments(
    main: Callable[[list[str]], object], argv: list[str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """The keyword arguments that `main(argv)` (a service's `__main__.main`) passes to `uvicorn.run`.

    `uvicorn.run` is replaced for the call, so nothing is served: a quick check of how the
    command line and the environment (`PORT`) choose the host, the port and the app.
    """
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda *args, **kwargs: calls.append(kwargs))
    main(argv)
    assert len(calls) == 1, f"main({argv}) called uvicorn.run {len(calls)} times"
    return calls[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@dataclass
class ServedProcess:
    """A running service: where it listens, its process, and what it printed."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def log(self) -> str:
        return self.log_path.read_text()


@contextmanager
def served_module(
    module: str,
    cwd: Path,
    *,
    env: Mapping[str, str] | None = None,
    port: int | None = None,
    args: Sequence[str] = (),
    port_variable: str | None = "PORT",
    health_path: str = "/health",
    startup_timeout: float = 30,
    shutdown_timeout: float = 10,
) -> Iterator[ServedProcess]:
    """Run `python -m module` in `cwd` with `PORT` set to a free port, until it answers `/health`.

    What `hatch run <service>:serve` runs, so a test can prove that the real process starts on
    its defaults and answers a real client. `port` fixes the port (a test that restarts a
    killed service where its clients expect it); default a free one. `env` replaces the environment
    (default: this one); drop your service's own variables from it so a developer's shell cannot leak in.

    What this repository's services share is the default, and each part can be changed:
    `args` go on the command line, with `{port}` in them replaced by the port (a service that
    takes `--port` rather than a variable: `args=["--port", "{port}"]`, `port_variable=None`);
    `port_variable` names the variable the port is put in; `health_path` is the path asked
    until any HTTP answer comes (the test asserts which one it expects).

    On exit the process gets SIGTERM (uvicorn's graceful shutdown, lifespan included) and is
    killed if it is still running after `shutdown_timeout`; read `process.returncode` and
    `log` afterwards to check how it ended.
    """
    port = free_port() if port is None else port
    environment = dict(os.environ if env is None else env)
    if port_variable is not None:
        environment[port_variable] = str(port)
    command = [sys.executable, "-m", module, *(arg.replace("{port}", str(port)) for arg in args)]
    log_path = cwd / f"{module}.log"
    with (
        log_path.open("wb") as log,
        subprocess.Popen(command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT) as process,
    ):
        served = ServedProcess(f"http://127.0.0.1:{port}", process, log_path)
        try:
            _wait_until_answering(served, health_path, startup_timeout)
            yield served
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=shutdown_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_answering(served: ServedProcess, path: str, timeout: float) -> None:
    """Until `path` gives any HTTP answer; the test asserts which one it expects."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=1) as client:
        while True:
            if served.process.poll() is not None:
                raise RuntimeError(f"the process exited with {served.process.returncode}:\n{served.log}")
            try:
                client.get(f"{served.url}{path}")
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"no answer on {served.url} after {timeout}s:\n{served.log}") from None
            time.sleep(0.05)
