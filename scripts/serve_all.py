"""Run the whole system on localhost: every service as its own uvicorn process, the gateway in front.

`hatch run serve` calls this. The services run on their embedded defaults (SQLite files in
`--data-dir`, fakeredis, mongomock); the gateway is told where the others listen. It refuses
to start when any of the ports is taken (naming it: a health check would believe whoever
answers there), prints where each one is, prefixes every line a service logs with its name,
waits until all answer `GET /health`, and stops them all on Ctrl-C, on SIGTERM, or as soon as
one of them dies (saying which).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent
# The gateway on the base port, the others after it, in this order.
SERVICES = ("gateway", "articles", "chat", "events", "processing")
UPSTREAMS = ("articles", "chat", "events", "processing")  # what the gateway proxies to
STARTUP_TIMEOUT = 60.0
SHUTDOWN_TIMEOUT = 10.0


@dataclass
class Service:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def ports(base: int) -> dict[str, int]:
    return {name: base + offset for offset, name in enumerate(SERVICES)}


def environment(name: str, where: dict[str, int]) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PORT", None)  # the port is passed as --port; a PORT in the shell must not move one
    if name == "gateway":
        env |= {f"GATEWAY_{up.upper()}_URL": f"http://127.0.0.1:{where[up]}" for up in UPSTREAMS}
    return env


def taken(where: dict[str, int]) -> list[str]:
    """The services whose port something already listens on (or cannot be bound for another reason)."""
    busy = []
    for name, port in where.items():
        with socket.socket() as sock:
            # As uvicorn binds: connections in TIME_WAIT from an earlier run do not count.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                busy.append(f"{name}'s port {port}")
    return busy


def relay(name: str, stream: IO[bytes]) -> None:
    """Print each line the service logs, prefixed with its name, until it closes its output."""
    for line in iter(stream.readline, b""):
        sys.stdout.write(f"{name:<10} | {line.decode(errors='replace')}")
        sys.stdout.flush()


def start(name: str, port: int, where: dict[str, int], data_dir: Path) -> Service:
    folder = data_dir / name  # each SQLite file lands in its service's own folder
    folder.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, "-m", name, "--port", str(port)],
        cwd=folder,
        env=environment(name, where),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        # A session of its own: Ctrl-C reaches this script only, which then stops each service
        # in order, instead of every process racing to shut down at once.
        start_new_session=True,
    )
    assert process.stdout is not None
    threading.Thread(target=relay, args=(name, process.stdout), daemon=True, name=f"log-{name}").start()
    return Service(name, port, process)


def dead(services: list[Service]) -> Service | None:
    return next((s for s in services if s.process.poll() is not None), None)


def wait_until_healthy(services: list[Service], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = list(services)
    with httpx.Client(timeout=1.0) as client:
        while waiting:
            if (gone := dead(services)) is not None:
                raise SystemExit(f"serve: {gone.name} exited during startup (code {gone.process.returncode})")
            if time.monotonic() > deadline:
                raise SystemExit(f"serve: no answer from {', '.join(s.name for s in waiting)} after {timeout:g}s")
            for service in list(waiting):
                try:
                    if client.get(f"{service.url}/health").status_code == 200:
                        waiting.remove(service)
                except httpx.TransportError:
                    pass  # not listening yet
            time.sleep(0.1)


def stop_all(services: list[Service]) -> None:
    for service in services:
        if service.process.poll() is None:
            service.process.terminate()
    for service in services:
        try:
            service.process.wait(timeout=SHUTDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            print(f"serve: {service.name} did not stop in {SHUTDOWN_TIMEOUT:g}s; killing it", flush=True)
            service.process.kill()
            service.process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="serve", description=__doc__)
    parser.add_argument("--base-port", type=int, default=8000, help="the gateway's port; the others follow it")
    parser.add_argument("--data-dir", type=Path, default=ROOT / ".serve", help="where the SQLite files go")
    options = parser.parse_args(argv)

    # SIGTERM stops the system as Ctrl-C does (both raise KeyboardInterrupt here). SIGINT is set
    # too: a shell starting this in the background would have it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    where = ports(options.base_port)
    if busy := taken(where):
        print(f"serve: {', '.join(busy)} is already in use; started nothing", file=sys.stderr, flush=True)
        return 2
    services: list[Service] = []
    try:
        for name in SERVICES:
            services.append(start(name, where[name], where, options.data_dir.resolve()))
        wait_until_healthy(services, STARTUP_TIMEOUT)
        for service in services:
            print(f"{service.name:<11} {service.url:<24} pid {service.process.pid}", flush=True)
        print(f"all services answer; the gateway is {services[0].url}; Ctrl-C stops them all", flush=True)
        while (gone := dead(services)) is None:
            time.sleep(0.2)
        print(f"serve: {gone.name} exited (code {gone.process.returncode}); stopping the others", flush=True)
        return 1
    except KeyboardInterrupt:
        print("serve: stopping every service", flush=True)
        return 0
    finally:
        stop_all(services)


if __name__ == "__main__":
    sys.exit(main())
