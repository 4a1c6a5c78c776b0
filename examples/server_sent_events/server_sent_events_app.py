"""The article's "Testing Server-Sent Events", on FastAPI's native SSE (FastAPI 0.135 and later).

The article wrote the frames by hand (`yield f"data: Event {i} for {topic}\n\n"` in a
`StreamingResponse`); here the route yields `ServerSentEvent`s and FastAPI writes the frames.
Each event has an id, so a client that reconnects with `Last-Event-ID` gets only what it missed.
At depth (an endless stream per topic, resume, disconnects): services/events/tests/test_demo.py,
services/events/tests/test_stream.py and services/events/tests/test_testclient.py.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.sse import EventSourceResponse, ServerSentEvent

app = FastAPI()


@app.get("/api/events/{topic}", response_class=EventSourceResponse)
async def subscribe_events(
    topic: str, last_event_id: Annotated[int | None, Header(ge=0)] = None
) -> AsyncIterator[ServerSentEvent]:
    """Five events, `Event {i} for {topic}` with id `i`, then the end; after `Last-Event-ID` only those after it."""
    start = 0 if last_event_id is None else last_event_id + 1
    for i in range(start, 5):
        # raw_data: sent as it is; `data` would be sent as JSON, the text in quotes.
        yield ServerSentEvent(id=str(i), raw_data=f"Event {i} for {topic}")
        await asyncio.sleep(0.01)
