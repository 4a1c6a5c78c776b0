"""An event published and received live on a stream, then replayed by Last-Event-ID after a reconnect."""

import asyncio
from collections.abc import AsyncIterator

import httpx
from httpx_sse import ServerSentEvent, aconnect_sse

from scripts.smoke.runner import Steps, Target, expect


async def flow(target: Target, steps: Steps) -> None:
    topic = f"smoke-{target.run_id}"
    steps.report.left_behind.append(f"events topic {topic}")
    publish, stream = f"/events/api/topics/{topic}/events", f"/events/api/topics/{topic}/stream"
    async with steps("publish"):
        first = await _publish(target.http, publish, 1)
    resume = {"Last-Event-ID": first}
    async with steps("an event received live"), aconnect_sse(target.http, "GET", stream, headers=resume) as source:
        expect(source.response, 200)
        await _subscribed(target.http, topic)  # so what follows is live, not a replay
        second = await _publish(target.http, publish, 2)
        live = await anext(_data_events(source.aiter_sse()))
        assert (live.id, live.json()) == (second, {"n": 2}), (live.id, live.data)
    async with steps("an event published while away, replayed by Last-Event-ID"):
        third = await _publish(target.http, publish, 3)
        async with aconnect_sse(target.http, "GET", stream, headers={"Last-Event-ID": second}) as source:
            expect(source.response, 200)
            replayed = await anext(_data_events(source.aiter_sse()))
            assert (replayed.id, replayed.json()) == (third, {"n": 3}), (replayed.id, replayed.data)


async def _publish(http: httpx.AsyncClient, url: str, n: int) -> str:
    published = await http.post(url, json={"event": "smoke", "data": {"n": n}})
    expect(published, 201)
    event_id: str = published.json()["id"]
    return event_id


async def _subscribed(http: httpx.AsyncClient, topic: str) -> None:
    """Until the topic counts a subscriber (the step's deadline bounds the wait)."""
    while True:
        info = await http.get(f"/events/api/topics/{topic}")
        expect(info, 200)
        if info.json()["subscribers"] >= 1:
            return
        await asyncio.sleep(0.05)


async def _data_events(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[ServerSentEvent]:
    """The stream's events without its keep-alive comments (httpx-sse yields those as empty events)."""
    async for event in events:
        if event.data:
            yield event
