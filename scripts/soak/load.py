"""The mixed load: a few paced workers, each one kind of traffic, until the deadline."""

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse
from websockets.asyncio.client import connect

# Pacing: each worker waits at least this long between rounds, so the load is bounded in count
# (a few hundred requests a minute per worker) on a machine shared with others.
HTTP_ROUND = 0.05
# The gateway admits GATEWAY_RATE_LIMIT (100) WebSocket upgrades a minute per client: a round
# of two sockets every 2.5 s is 48.
WS_ROUND = 2.5
SSE_ROUND = 0.5
PROCESSING_ROUND = 0.5
EVENTS_PER_STREAM = 5
MESSAGES_PER_ROOM = 10
STEP_TIMEOUT = 10.0  # seconds: any one round that takes longer is an error


@dataclass
class Tally:
    """What the load saw: statuses per service, failed rounds, and the articles it created."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # "<worker>: <exception type>"
    unexpected: Counter[str] = field(default_factory=Counter)  # "<service> <method> <status>"
    rounds: Counter[str] = field(default_factory=Counter)
    articles: dict[int, str] = field(default_factory=dict)  # id -> title

    def seen(self, service: str, response: httpx.Response, expected: int) -> httpx.Response:
        self.statuses[(service, response.status_code)] += 1
        if response.status_code != expected:
            self.unexpected[f"{service} {response.request.method} {response.status_code}"] += 1
        return response

    @property
    def server_errors(self) -> int:
        return sum(n for (_, status), n in self.statuses.items() if status >= 500)


@dataclass(frozen=True)
class Load:
    http: httpx.AsyncClient
    ws_url: str
    token: str
    run_id: str
    tally: Tally

    async def articles(self, worker: int) -> None:
        """Create an article, read it twice (the second from the cache), list the newest."""
        auth = {"Authorization": f"Bearer {self.token}"}
        title = f"soak {self.run_id} {worker}-{self.tally.rounds['articles']}"
        body = {"title": title, "content": "Under load.", "status": "published"}
        created = self.tally.seen(
            "articles", await self.http.post("/articles/api/articles/", json=body, headers=auth), 201
        )
        if created.status_code == 201:
            self.tally.articles[created.json()["id"]] = title
            for _ in range(2):
                self.tally.seen("articles", await self.http.get(f"/articles/api/articles/{created.json()['id']}"), 200)
        self.tally.seen("articles", await self.http.get("/articles/api/articles/?limit=5"), 200)

    async def events(self, worker: int) -> None:
        """Open a stream, publish a few events, read them all, close it (streams come and go)."""
        topic = f"soak-{self.run_id}-{worker}"
        url = f"/events/api/topics/{topic}"
        first = self.tally.seen("events", await self.http.post(f"{url}/events", json={"event": "soak", "data": 0}), 201)
        async with aconnect_sse(
            self.http, "GET", f"{url}/stream", headers={"Last-Event-ID": first.json()["id"]}
        ) as sse:
            self.tally.seen("events", sse.response, 200)
            for n in range(1, EVENTS_PER_STREAM + 1):
                self.tally.seen("events", await self.http.post(f"{url}/events", json={"event": "soak", "data": n}), 201)
            got = [e async for e in _take(sse.aiter_sse(), EVENTS_PER_STREAM)]
            assert [e.json() for e in got] == list(range(1, EVENTS_PER_STREAM + 1)), [e.data for e in got]

    async def chat(self, worker: int) -> None:
        """Two sockets in a room, messages both ways, closed."""
        room = f"soak-{self.run_id}-{worker}"
        url = f"{self.ws_url}/chat/ws/chat/{room}"
        async with connect(url) as alice, connect(url) as bob:
            for n in range(MESSAGES_PER_ROOM):
                await (alice if n % 2 else bob).send(f"m{n}")
                for member in (alice, bob):
                    assert await member.recv() == f"Room {room}: m{n}"

    async def processing(self, worker: int) -> None:
        """A text submitted, processed in the background, polled until it has its summary."""
        body = {"title": f"soak {self.run_id} {worker}", "content": "One sentence. Another one. A third."}
        created = self.tally.seen("processing", await self.http.post("/processing/api/articles/", json=body), 201)
        url = f"/processing/api/articles/{created.json()['id']}"
        self.tally.seen("processing", await self.http.post(f"{url}/process"), 202)
        while (article := self.tally.seen("processing", await self.http.get(url), 200).json())["status"] != "processed":
            assert article["status"] in ("pending", "processing"), article
            await asyncio.sleep(0.05)


async def _take(events: AsyncIterator[ServerSentEvent], count: int) -> AsyncIterator[ServerSentEvent]:
    """The next `count` data events (keep-alive comments skipped)."""
    taken = 0
    async for event in events:
        if event.data:
            yield event
            taken += 1
            if taken == count:
                return


async def worker(load: Load, kind: str, number: int, pause: float, until: float) -> None:
    """Rounds of one kind until `until` (monotonic); a failed or slow round is counted, not fatal."""
    round_of = getattr(load, kind)
    while time.monotonic() < until:
        started = time.monotonic()
        try:
            async with asyncio.timeout(STEP_TIMEOUT):
                await round_of(number)
        # A round's failure is data for the verdict; the load goes on, so one report shows them all.
        except Exception as error:
            load.tally.errors[f"{kind}: {type(error).__name__}: {str(error)[:80]}"] += 1
        load.tally.rounds[kind] += 1
        await asyncio.sleep(max(0.0, pause - (time.monotonic() - started)))


MIX = (
    ("articles", 2, HTTP_ROUND),
    ("events", 1, SSE_ROUND),
    ("chat", 1, WS_ROUND),
    ("processing", 1, PROCESSING_ROUND),
)


async def drive(load: Load, seconds: float) -> None:
    until = time.monotonic() + seconds
    async with asyncio.TaskGroup() as group:
        for kind, count, pause in MIX:
            for number in range(count):
                group.create_task(worker(load, kind, number, pause, until))
