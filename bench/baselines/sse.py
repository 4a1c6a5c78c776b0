"""The events baselines, with FastAPI's native SSE as the service uses it, and nothing else.

- `GET /generate?count=N`: a generator that yields N events as fast as it can, then ends (the
  stream-rate baseline; finite, so the client does not have to cut it off);
- `POST /publish` and `GET /live`: events handed to the open streams in memory, no Redis
  (the publish-to-receive and idle-subscriber baselines).
"""

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.sse import EventSourceResponse, ServerSentEvent

Listeners = set[asyncio.Queue[tuple[str, str]]]


def create_app() -> FastAPI:
    app = FastAPI()
    listeners: Listeners = set()
    ids = itertools.count(1)

    async def subscription() -> AsyncIterator[asyncio.Queue[tuple[str, str]]]:
        # A dependency, as in the service: it runs before the response starts, so an event
        # published once the client has the headers is never missed.
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
        listeners.add(queue)
        try:
            yield queue
        finally:
            listeners.discard(queue)

    @app.get("/generate", response_class=EventSourceResponse)
    async def generate(count: int) -> AsyncIterator[ServerSentEvent]:
        for i in range(1, count + 1):
            yield ServerSentEvent(id=f"{i}-0", event="bench", raw_data='{"n":1}')

    @app.post("/publish", status_code=201)
    async def publish(request: Request) -> dict[str, str]:
        data = (await request.body()).decode()
        event_id = f"{next(ids)}-0"
        for queue in listeners:
            queue.put_nowait((event_id, data))
        return {"id": event_id}

    @app.get("/live", response_class=EventSourceResponse)
    async def live(
        queue: Annotated[asyncio.Queue[tuple[str, str]], Depends(subscription)],
    ) -> AsyncIterator[ServerSentEvent]:
        while True:
            event_id, data = await queue.get()
            yield ServerSentEvent(id=event_id, event="bench", raw_data=data)

    return app
