"""What every case shares: the run's context, starting servers, alternating rounds."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from bench import servers
from bench.loadgen import CONNECTIONS, LoadGenerator
from bench.results import Measurement, Row, paired_ratio, summarise


@dataclass(frozen=True)
class Context:
    long: bool
    real: bool
    loadgen: LoadGenerator | None
    seconds: float | None = None  # overrides the round length (the smoke test's short rounds)

    @property
    def rounds(self) -> int:
        return 4 if self.long else 2

    @property
    def duration(self) -> float:
        """Seconds of load in one round of an HTTP or processing case."""
        if self.seconds is not None:
            return self.seconds
        return 10.0 if self.long else 3.0


class NotRunError(Exception):
    """The case cannot run here; the message says why (it becomes the table's note)."""


@contextmanager
def running(*specs: tuple[str, list[str], dict[str, str]]) -> Iterator[list[servers.Server]]:
    """Start each (name, module args, env) server; stop them all on leaving, however it is left."""
    started: list[servers.Server] = []
    try:
        for name, args, env in specs:
            try:
                started.append(servers.start(name, args, env))
            except servers.ServerStartError as error:
                raise NotRunError(str(error)) from error
        yield started
    finally:
        for server in started:
            server.stop()


def baseline(name: str) -> list[str]:
    return ["bench.baselines.serve", name]


Probe = Callable[[], Measurement]


def alternate(row: Row, rounds: int, case: tuple[servers.Server, Probe], base: tuple[servers.Server, Probe]) -> Row:
    """Run `rounds` rounds of case and baseline back to back, swapping which goes first each
    round, and fill the row with the medians, the peak RSS and the median per-round ratio."""
    case_rounds: list[Measurement] = []
    base_rounds: list[Measurement] = []
    for i in range(rounds):
        order = [(case, case_rounds), (base, base_rounds)]
        for (server, probe), into in order if i % 2 == 0 else order[::-1]:
            m = probe()
            if m.rss_mb is None:
                m.rss_mb = server.peak_rss_mb()
            into.append(m)
    return finish(row, case_rounds, base_rounds)


def finish(row: Row, case_rounds: list[Measurement], base_rounds: list[Measurement]) -> Row:
    row.case_m, row.base_m = summarise(case_rounds), summarise(base_rounds)
    row.ratio = paired_ratio(case_rounds, base_rounds, row.headline)
    row.rounds = len(case_rounds)
    return row


def http_probe(ctx: Context, url: str, connections: int = CONNECTIONS) -> Probe:
    loadgen = ctx.loadgen
    if loadgen is None:
        raise NotRunError("wrk is not installed (apt-get install wrk), and --loadgen wrk refuses the Python fallback")

    def probe() -> Measurement:
        return loadgen.measure(url, ctx.duration, connections)

    return probe


def warm(ctx: Context, *urls: str) -> None:
    """A short load first: imports, caches and pools are filled before anything is measured."""
    if ctx.loadgen is not None:
        for url in urls:
            ctx.loadgen.measure(url, 1.0, connections=10)


def cpu_share(start_cpu: float, start_wall: float) -> float:
    """The share of one core this process used since `start_*` (for the Python clients' cap check)."""
    return (time.process_time() - start_cpu) / max(time.perf_counter() - start_wall, 1e-9)
