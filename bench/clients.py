"""The gateway's HTTP client, side by side: a minimal proxy on each candidate against the same upstream.

    hatch run python bench/clients.py [--path health|list] [--duration 3] [--rounds 2]

Each side is a server of its own, all fronting one articles service: `direct` (no proxy), the
gateway itself, and bench/baselines/client_proxy.py on httpx, httpx2 and aiohttp (a FastAPI route
that fetches the upstream with a lifespan client and returns the body whole). wrk puts the same
load on each (-t1 -c50), the sides taking turns, the order reversed every other round. Reported
per side: the median req/s and p99, the proxy process's CPU per request (from /proc: what the
client and the server framework cost, whatever else the machine is doing), and the median
per-round ratio to `direct`. Not part of `hatch run bench`: a measurement to choose a client by
(bench/README.md, "Profiling the gateway").
"""

import argparse
import importlib.util
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import loadgen, servers
from bench.cases.articles import ROWS, seed
from bench.cases.common import baseline

CLIENTS = ("httpx", "httpx2", "aiohttp")
PATHS = {"health": "health", "list": "api/articles/"}


def _sides(upstream: servers.Server) -> dict[str, servers.Server]:
    started = {"direct": upstream}
    gateway_env = {"GATEWAY_ARTICLES_URL": upstream.url, "GATEWAY_RATE_LIMIT": str(10**12)}
    started["gateway"] = servers.start("gateway", ["gateway"], gateway_env)
    for client in CLIENTS:
        if importlib.util.find_spec(client) is None:
            print(f"{client}: not installed, left out", flush=True)
            continue
        env = {"BENCH_UPSTREAM_URL": upstream.url, "BENCH_PROXY_CLIENT": client}
        started[f"proxy-{client}"] = servers.start(f"proxy-{client}", baseline("client_proxy"), env)
    return started


def _url(side: str, server: servers.Server, path: str) -> str:
    return f"{server.url}/articles/{path}" if side == "gateway" else f"{server.url}/{path}"


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench/clients.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--path", choices=sorted(PATHS), default="health", help="the upstream route")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    generator = loadgen.choose("wrk")
    if generator is None:
        print("wrk is needed (apt-get install wrk)", file=sys.stderr)
        return 2
    path = PATHS[options.path]
    figures: dict[str, list[tuple[float, float, float]]] = {}
    try:
        upstream = servers.start("articles", ["articles"])
        if options.path == "list":
            seed(upstream.url, ROWS)
        sides = _sides(upstream)
        for side, server in sides.items():  # warm: imports, pools
            generator.measure(_url(side, server, path), 1.0, connections=10)
        names = list(sides)
        for i in range(options.rounds):
            for side in names if i % 2 == 0 else names[::-1]:
                server = sides[side]
                cpu0 = server.cpu_seconds()
                m = generator.measure(_url(side, server, path), options.duration)
                cpu = server.cpu_seconds() - cpu0
                if m.error or m.capped:
                    print(f"{side}: round {i + 1} not counted: {m.error or m.capped}", flush=True)
                    continue
                rate = m.rate or 0.0
                cpu_ms = 1000 * cpu / max(rate * options.duration, 1)
                figures.setdefault(side, []).append((rate, m.p99_ms or 0.0, cpu_ms))
                print(f"{side}: {rate:,.0f} req/s, p99 {m.p99_ms} ms, {cpu_ms:.2f} ms CPU/request", flush=True)
    finally:
        servers.stop_all()
    _table(figures)
    return 0


def _table(figures: dict[str, list[tuple[float, float, float]]]) -> None:
    direct = figures.get("direct", [])
    print("\n| side | req/s | p99 ms | server CPU ms/request | ratio to direct |\n|---|---|---|---|---|")
    for side, rounds in figures.items():
        ratios = [r[0] / d[0] for r, d in zip(rounds, direct, strict=False) if d[0]]
        med = [statistics.median(column) for column in zip(*rounds, strict=True)]
        ratio = f"{statistics.median(ratios):.2f}x" if ratios and side != "direct" else "-"
        print(f"| {side} | {med[0]:,.0f} | {med[1]:.1f} | {med[2]:.2f} | {ratio} |")


if __name__ == "__main__":
    sys.exit(main())
