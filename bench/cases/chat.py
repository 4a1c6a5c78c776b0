"""chat: one sender, 100 clients in a room: messages per second delivered to all, and the time
until the last client has a message, against a minimal broadcast loop (bench/baselines/broadcast.py).

The sender is one of the 100 members (the room echoes to its sender too). Every message is
numbered; a message counts as delivered when the 100th client has it.
"""

import asyncio
import statistics
import time
from collections.abc import Callable

from bench import real, servers
from bench.cases.common import Context, NotRunError, baseline, cpu_share, finish, running
from bench.results import Measurement, Row
from bench.wsclient import WsClient

CLIENTS = 100
WINDOW = 10  # messages in flight in the rate test: far below the service's queue of 100 per member
MODERATE_RATE = 50.0  # messages per second in the latency test: 5,000 frames a second delivered
CLIENT_CAP = 0.90
LATENCY_TARGET = 1.25  # the service's p99 over the baseline's
LATENCY_AIM_MS = 5.0  # absolute, reported beside the ratio
ROOM = "bench"


class _Room:
    """100 connected clients and the delivery time of each message to its last client.

    A room delivers to each member in the order the sender sent, so a client's n-th message is
    message n: clients only count what they receive, the cheapest a client can do (the faster
    the client, the faster a server it can measure before it caps the figure itself).
    """

    def __init__(self) -> None:
        self.clients: list[WsClient] = []
        self.have: list[int] = []  # per message of this round: how many clients have it
        self.sent_at: list[float] = []
        self.latencies: list[float] = []
        self.delivered: dict[int, asyncio.Future[None]] = {}

    def _counter(self) -> Callable[[int], None]:
        received = 0

        def on_count(count: int) -> None:
            nonlocal received
            have = self.have
            for index in range(received, received + count):
                have[index] += 1
                if have[index] == CLIENTS:
                    self.latencies.append(time.perf_counter() - self.sent_at[index])
                    future = self.delivered.pop(index, None)
                    if future is not None and not future.done():
                        future.set_result(None)
            received += count

        return on_count

    async def join(self, port: int) -> None:
        for _ in range(CLIENTS):  # one by one: a burst of 100 handshakes measures nothing we want
            client = await WsClient.connect("127.0.0.1", port, f"/ws/chat/{ROOM}", on_count=self._counter())
            self.clients.append(client)

    def send(self) -> asyncio.Future[None]:
        """Send the next message; the future is done when every client has it."""
        index = len(self.sent_at)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.delivered[index] = future
        self.have.append(0)
        self.sent_at.append(time.perf_counter())
        self.clients[0].send_text(str(index))
        return future

    async def leave(self) -> None:
        for client in self.clients:
            client.close()
        await asyncio.gather(*(c.closed for c in self.clients))


def _measure(latencies: list[float], count: int, elapsed: float, cpu: float) -> Measurement:
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    m = Measurement(rate=count / elapsed, p50_ms=cuts[49] * 1000, p99_ms=cuts[98] * 1000)
    m.extra["client_cpu"] = round(cpu, 3)
    if cpu >= CLIENT_CAP:
        m.capped = f"the client used {cpu:.0%} of a core"
    return m


async def _rate_round(port: int, messages: int) -> Measurement:
    room = _Room()
    await room.join(port)
    try:
        window = asyncio.Semaphore(WINDOW)
        pending: list[asyncio.Future[None]] = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(messages):
            await window.acquire()
            future = room.send()
            future.add_done_callback(lambda _: window.release())
            pending.append(future)
        await asyncio.wait_for(asyncio.gather(*pending), timeout=60)
        elapsed, cpu = time.perf_counter() - wall0, cpu_share(cpu0, wall0)
    finally:
        await room.leave()
    return _measure(room.latencies, messages, elapsed, cpu)


async def _latency_round(port: int, messages: int) -> Measurement:
    room = _Room()
    await room.join(port)
    try:
        pending = []
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for i in range(messages):
            # A fixed schedule, not a sleep after each send: a slow delivery does not slow the rate.
            await asyncio.sleep(max(0.0, wall0 + i / MODERATE_RATE - time.perf_counter()))
            pending.append(room.send())
        await asyncio.wait_for(asyncio.gather(*pending), timeout=60)
        elapsed, cpu = time.perf_counter() - wall0, cpu_share(cpu0, wall0)
    finally:
        await room.leave()
    return _measure(room.latencies, messages, elapsed, cpu)


def _env(ctx: Context) -> dict[str, str]:
    # One sender sends the whole room's traffic here, far above a person's 10 messages a second
    # (CHAT_SEND_RATE's default): the throttle still runs its bucket per message, it just never
    # holds the sender back, as the gateway's rate limit in its cases.
    env = {"CHAT_SEND_RATE": str(10**6), "CHAT_SEND_BURST": str(10**6)}
    if ctx.real:
        env["CHAT_REDIS_URL"] = real.REDIS_URL
    return env


def _rounds(ctx: Context, row: Row, latency: bool) -> Row:
    messages = (1000 if ctx.long else 300) if not latency else int(MODERATE_RATE * (10 if ctx.long else 2))
    run = _latency_round if latency else _rate_round
    with running(("chat", ["chat"], _env(ctx)), ("broadcast-baseline", baseline("broadcast"), {})) as (svc, base):
        case_rounds: list[Measurement] = []
        base_rounds: list[Measurement] = []
        for i in range(ctx.rounds):
            order: list[tuple[servers.Server, list[Measurement]]] = [(svc, case_rounds), (base, base_rounds)]
            for server, into in order if i % 2 == 0 else order[::-1]:
                try:
                    m = asyncio.run(run(server.port, messages))
                except (OSError, TimeoutError, RuntimeError) as error:
                    raise NotRunError(f"{server.name}: {type(error).__name__}: {error} {server.log_tail(2)}") from error
                m.rss_mb = server.peak_rss_mb()
                into.append(m)
        return finish(row, case_rounds, base_rounds)


def fanout(ctx: Context) -> Row:
    row = Row(
        "chat-fanout",
        f"messages/s delivered to all {CLIENTS} clients vs a broadcast loop",
        "msg/s",
        "rate",
        target=">= 0.8x",
    )
    _rounds(ctx, row, latency=False)
    row.met = None if row.ratio is None or row.status != "ok" else row.ratio >= 0.8
    return row


def latency(ctx: Context) -> Row:
    row = Row(
        "chat-latency",
        f"time until the last of {CLIENTS} clients has a message, {MODERATE_RATE:g} msg/s",
        "msg/s",
        "p99",
        target=f"p99 <= {LATENCY_TARGET:g}x the baseline's",
    )
    _rounds(ctx, row, latency=True)
    if row.case_m is not None and row.case_m.p99_ms is not None and row.status == "ok":
        # The ratio is the target (issue 14): the baseline's own p99 is the floor 100 socket
        # writes set on this machine. The absolute figure is beside it, against the aim.
        row.met = row.ratio is not None and row.ratio <= LATENCY_TARGET
        row.note = f"p99 {row.case_m.p99_ms:.1f} ms (the aim: {LATENCY_AIM_MS:g} ms)"
    return row
