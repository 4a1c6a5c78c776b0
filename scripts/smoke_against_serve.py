"""Start `hatch run serve` (scripts/serve_all.py), run the smoke suite against its gateway, stop it.

What .ci/run does on each backend: `python scripts/smoke_against_serve.py [serve's options]`,
e.g. `--backend real`. The system gets free ports and, on the embedded backend, a fresh data
folder; serve's own output is printed only if something fails. The exit code is smoke's (or 2
if the system never came up).
"""

import queue
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent
SERVE = ROOT / "scripts" / "serve_all.py"
READY = "all services answer"
STARTUP_TIMEOUT = 90.0  # five interpreters importing FastAPI at once on two cores
STOP_TIMEOUT = 30.0
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


def main(argv: list[str] | None = None) -> int:
    serve_options = sys.argv[1:] if argv is None else argv
    base = free_base_port()
    with tempfile.TemporaryDirectory(prefix="smoke-serve-") as data:
        command = [sys.executable, str(SERVE), "--base-port", str(base), "--data-dir", data, *serve_options]
        print(f"smoke_against_serve: {' '.join(command)}", flush=True)
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
            assert process.stdout is not None
            lines: queue.Queue[str] = queue.Queue()
            seen: list[str] = []
            threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True).start()
            try:
                if not wait_until_ready(process, lines, seen):
                    print("".join(seen) + f"smoke_against_serve: serve did not come up in {STARTUP_TIMEOUT:g}s")
                    return 2
                smoke = [sys.executable, "-m", "scripts.smoke", "--base-url", f"http://127.0.0.1:{base}"]
                code = subprocess.run(smoke, cwd=ROOT, check=False).returncode
            finally:
                if process.poll() is None:
                    process.send_signal(signal.SIGINT)  # serve stops every service on Ctrl-C
                    try:
                        process.wait(timeout=STOP_TIMEOUT)
                    except subprocess.TimeoutExpired:
                        process.kill()
            if code != 0:
                while not lines.empty():
                    seen.append(lines.get())
                print("serve's output:\n" + "".join(seen), flush=True)
            return code


if __name__ == "__main__":
    sys.exit(main())
