"""Start `hatch run serve` (scripts/serve_all.py), run the smoke suite against its gateway, stop it.

What .ci/run does on each backend: `python scripts/smoke_against_serve.py [serve's options]`,
e.g. `--backend real`. The system gets free ports and, on the embedded backend, a fresh data
folder; serve's own output is printed only if something fails. The exit code is smoke's (or 2
if the system never came up).
"""

import os
import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "scripts" / "serve_all.py"
READY = "all services answer"
STARTUP_TIMEOUT = 90.0  # five interpreters importing FastAPI at once on two cores
STOP_TIMEOUT = 30.0
STARTS = 3  # attempts, each on other ports
SERVICES = 5  # serve's ports: the gateway's and the four after it


def free_base_port(count: int = SERVICES) -> int:
    """A port with `count` free ports from it on."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + count < 65536 and all(_free(base + i) for i in range(count)):
            return base
    raise SystemExit("smoke_against_serve: no run of free ports found")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _pump(stream: IO[str], lines: "queue.Queue[str]") -> None:
    for line in stream:
        lines.put(line)


def wait_until_ready(process: "subprocess.Popen[str]", lines: "queue.Queue[str]", seen: list[str]) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while (left := deadline - time.monotonic()) > 0 and process.poll() is None:
        try:
            line = lines.get(timeout=min(left, 0.5))
        except queue.Empty:
            continue
        seen.append(line)
        if READY in line:
            return True
    return False


@dataclass
class System:
    """A running `hatch run serve`: its gateway, each service's pid, and what it printed so far."""

    base_url: str
    pids: dict[str, int]
    output: list[str]
    lines: "queue.Queue[str]"

    def all_output(self) -> str:
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return "".join(self.output)


def pids_of(output: list[str]) -> dict[str, int]:
    """serve's "<name>  <url>  pid <n>" lines (a service's own lines carry " | " after its name)."""
    found = {}
    for line in output:
        if " pid " in line and " | " not in line:
            found[line.split()[0]] = int(line.rsplit("pid", 1)[1])
    return found


@contextmanager
def serving(serve_options: list[str], env: dict[str, str] | None = None) -> Iterator[System]:
    """The system up on free ports (a fresh data folder), stopped as Ctrl-C stops it on the way out.

    `env`: variables for every service, on top of this process's environment. A start that fails
    is tried again on other ports: free ports are found in the ephemeral range, where any
    process's outgoing connection may take one before serve binds it.
    """
    for attempt in range(1, STARTS + 1):
        with tempfile.TemporaryDirectory(prefix="serve-") as data:
            base = free_base_port()
            command = [sys.executable, str(SERVE), "--base-port", str(base), "--data-dir", data, *serve_options]
            print(f"starting: {' '.join(command)}", flush=True)
            with _running(command, os.environ | (env or {})) as (process, lines, seen):
                if wait_until_ready(process, lines, seen):
                    yield System(f"http://127.0.0.1:{base}", pids_of(seen), seen, lines)
                    return
                failure = "".join(seen) + f"serve did not come up in {STARTUP_TIMEOUT:g}s (start {attempt} of {STARTS})"
                print(failure, flush=True)
    raise NotServingError(failure)


@contextmanager
def _running(
    command: list[str], env: dict[str, str]
) -> Iterator[tuple["subprocess.Popen[str]", "queue.Queue[str]", list[str]]]:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        assert process.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
        try:
            yield process, lines, []
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # serve stops every service on Ctrl-C
                try:
                    process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    process.kill()


class NotServingError(Exception):
    """serve never printed that every service answers."""


def main(argv: list[str] | None = None) -> int:
    serve_options = sys.argv[1:] if argv is None else argv
    try:
        with serving(serve_options) as system:
            smoke = [sys.executable, "-m", "scripts.smoke", "--base-url", system.base_url]
            code = subprocess.run(smoke, cwd=ROOT, check=False).returncode
            if code != 0:
                print("serve's output:\n" + system.all_output(), flush=True)
            return code
    except NotServingError as error:
        print(f"smoke_against_serve: {error}", flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
