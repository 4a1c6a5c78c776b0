"""Run the whole system on localhost: every service as its own uvicorn process, the gateway in front.

`hatch run serve` calls this. The services run on their embedded defaults (SQLite files in
`--data-dir`, fakeredis, mongomock), or with `--backend real` on PostgreSQL and Redis (databases
of their own, apart from the test suites': see REAL_DATABASES); the gateway is told where the
others listen. `--processing-mode queue` runs processing on its job queue: in its own process
on the embedded backend, with `--workers` worker processes on Redis. It refuses
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
# --backend real: a PostgreSQL database per SQL service, and one Redis database number for all
# (their keys and channels are apart). The suites use Redis 0 upwards and testkit_* databases.
REAL_DATABASES = {"articles": "serve_articles", "gateway": "serve_gateway", "processing": "serve_processing"}
REAL_REDIS_URL = "redis://127.0.0.1:6379/12"
REAL_POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
REDIS_USERS = ("articles", "chat", "events", "gateway", "processing")
WORKER_READY = "worker ready"  # what processing.worker logs once it takes jobs


@dataclass
class Service:
    name: str
    port: int | None  # None: a worker, which listens on nothing
    process: subprocess.Popen[bytes]
    ready: threading.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Backends:
    """What every service is told beyond its port: its URLs and processing's mode."""

    env: dict[str, dict[str, str]]

    def of(self, name: str) -> dict[str, str]:
        return self.env.get(name, {})


def ports(base: int) -> dict[str, int]:
    return {name: base + offset for offset, name in enumerate(SERVICES)}


def environment(name: str, where: dict[str, int], backends: Backends) -> dict[str, str]:
    env = dict(os.environ) | backends.of(name)
    env.pop("PORT", None)  # the port is passed as --port; a PORT in the shell must not move one
    if name == "gateway":
        env |= {f"GATEWAY_{up.upper()}_URL": f"http://127.0.0.1:{where[up]}" for up in UPSTREAMS}
    return env


def real_backends(postgres_url: str, redis_url: str) -> dict[str, dict[str, str]]:
    """Each service's URLs on the real servers, creating its PostgreSQL database if it is missing."""
    import asyncio

    import asyncpg

    async def create_missing() -> None:
        admin = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"), timeout=5)
        try:
            existing = {r["datname"] for r in await admin.fetch("SELECT datname FROM pg_database")}
            for database in set(REAL_DATABASES.values()) - existing:
                await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()

    asyncio.run(create_missing())
    server = postgres_url.rsplit("/", 1)[0]
    env = {name: {f"{name.upper()}_REDIS_URL": redis_url} for name in REDIS_USERS}
    for name, database in REAL_DATABASES.items():
        env[name][f"{name.upper()}_DATABASE_URL"] = f"{server}/{database}"
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


def relay(name: str, stream: IO[bytes], ready: threading.Event) -> None:
    """Print each line the service logs, prefixed with its name, until it closes its output."""
    for line in iter(stream.readline, b""):
        text = line.decode(errors="replace")
        if WORKER_READY in text:
            ready.set()
        sys.stdout.write(f"{name:<10} | {text}")
        sys.stdout.flush()


def start(name: str, port: int | None, env: dict[str, str], folder: Path, log: IO[bytes] | None = None) -> Service:
    """`python -m <name> --port <port>`, or the processing worker when `port` is None.

    What it logs is relayed to this script's output, prefixed with its name; or, given `log` (a
    test's file), written there as it is (a worker's readiness then goes unseen).
    """
    folder.mkdir(parents=True, exist_ok=True)  # each SQLite file lands in its service's own folder
    command = ["-m", name, "--port", str(port)] if port is not None else ["-m", "processing.worker"]
    process = subprocess.Popen(
        [sys.executable, *command],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE if log is None else log,
        stderr=subprocess.STDOUT,
        # A session of its own: Ctrl-C reaches this script only, which then stops each service
        # in order, instead of every process racing to shut down at once.
        start_new_session=True,
    )
    ready = threading.Event()
    if log is None:
        assert process.stdout is not None
        threading.Thread(target=relay, args=(name, process.stdout, ready), daemon=True, name=f"log-{name}").start()
    return Service(name, port, process, ready)


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
                if service.port is None:
                    if service.ready.is_set():
                        waiting.remove(service)
                    continue
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
    parser.add_argument(
        "--backend", choices=("embedded", "real"), default="embedded", help="real: PostgreSQL and Redis (REAL_*)"
    )
    parser.add_argument("--postgres-url", default=REAL_POSTGRES_URL, help="the real backend's PostgreSQL server")
    parser.add_argument("--redis-url", default=REAL_REDIS_URL, help="the real backend's Redis database")
    parser.add_argument(
        "--processing-mode",
        choices=("background", "queue"),
        default=os.environ.get("PROCESSING_MODE", "background"),
        help="queue: processing's job queue (worker processes on the real backend)",
    )
    parser.add_argument("--workers", type=int, default=1, help="queue worker processes (real backend only)")
    options = parser.parse_args(argv)

    # SIGTERM stops the system as Ctrl-C does (both raise KeyboardInterrupt here). SIGINT is set
    # too: a shell starting this in the background would have it ignored.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    where = ports(options.base_port)
    if busy := taken(where):
        print(f"serve: {', '.join(busy)} is already in use; started nothing", file=sys.stderr, flush=True)
        return 2
    real = options.backend == "real"
    backends = Backends(real_backends(options.postgres_url, options.redis_url) if real else {})
    backends.env.setdefault("processing", {})["PROCESSING_MODE"] = options.processing_mode
    data_dir = options.data_dir.resolve()
    services: list[Service] = []
    try:
        for name in SERVICES:
            services.append(start(name, where[name], environment(name, where, backends), data_dir / name))
        if real and options.processing_mode == "queue":
            env = environment("processing", where, backends)
            services += [
                start(f"worker-{n}", None, env, data_dir / "processing") for n in range(1, options.workers + 1)
            ]
        wait_until_healthy(services, STARTUP_TIMEOUT)
        for service in services:
            where_it_is = service.url if service.port is not None else "(a queue worker)"
            print(f"{service.name:<11} {where_it_is:<24} pid {service.process.pid}", flush=True)
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
