"""The demo stream, publishing, the live topic stream, and what a topic holds."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter, status
from fastapi.sse import EventSourceResponse, ServerSentEvent
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from events.dependencies import SettingsDep, StreamsDep, SubscribersDep, SubscriptionDep, TopicPath
from events.schemas import EventIn, Published, TopicInfo, to_json
from events.storage import BEGINNING
from service_runtime.redis import PoolExhaustedError

logger = logging.getLogger(__name__)

KEEPALIVE_COMMENT = "keep-alive"

router = APIRouter(prefix="/api")

# What errors.py answers while Redis cannot be reached, on every route that reads or writes it.
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    status.HTTP_503_SERVICE_UNAVAILABLE: {"description": "Redis is unavailable; try again later"}
}


@router.get("/events/{topic}", response_class=EventSourceResponse, tags=["demo"])
async def demo_events(topic: TopicPath) -> AsyncIterator[ServerSentEvent]:
    """The article's finite stream: five events, `data: Event {i} for {topic}`, then the end.

    `raw_data`, because FastAPI sends `data` as JSON, which would put the text in quotes.
    """
    for i in range(5):
        yield ServerSentEvent(raw_data=f"Event {i} for {topic}")
        await asyncio.sleep(0.01)  # as in the article: the events are spread out in time


@router.post("/topics/{topic}/events", status_code=status.HTTP_201_CREATED, tags=["topics"], responses=UNAVAILABLE)
async def publish_event(topic: TopicPath, body: EventIn, streams: StreamsDep) -> Published:
    """Append an event to the topic; every open stream of the topic receives it."""
    return Published(id=await streams.publish(topic, body.event, to_json(body.data)))


@router.get("/topics/{topic}/stream", response_class=EventSourceResponse, tags=["topics"], responses=UNAVAILABLE)
async def stream_topic(subscriber: SubscriptionDep, settings: SettingsDep) -> AsyncIterator[ServerSentEvent]:
    """The events after Last-Event-ID (header, or `last_event_id`), then each new one as it is published.

    Endless; a `: keep-alive` comment keeps an idle connection open every `EVENTS_KEEPALIVE_INTERVAL`
    seconds. The stream ends when its client falls more than `EVENTS_SUBSCRIBER_BUFFER` events
    behind, or Redis becomes unavailable: an EventSource reconnects by itself, with Last-Event-ID,
    and carries on where it stopped.
    """
    # FastAPI has keep-alive pings of its own, but at a fixed, process-wide 15 s; ours come from
    # settings, per app, so a test can ask for them every few milliseconds. The events come from
    # the topic's one reader (hub.py). When the client goes away, FastAPI cancels the task running
    # this generator, and `open_subscription` detaches it from the reader.
    try:
        async with aclosing(subscriber.events(settings.keepalive_interval)) as events:
            async for event in events:
                if event is None:
                    yield ServerSentEvent(comment=KEEPALIVE_COMMENT)
                else:
                    # raw_data: the stored text already is the JSON to send.
                    yield ServerSentEvent(id=event.id, event=event.name, raw_data=event.data)
    except (RedisConnectionError, RedisTimeoutError, PoolExhaustedError) as error:
        # A resuming stream's replay read failed: end cleanly, as the reader does (hub.py).
        logger.warning("ending a stream of %r: Redis is unavailable (%s)", subscriber.topic, error)


@router.get("/topics/{topic}", tags=["topics"], responses=UNAVAILABLE)
async def topic_info(topic: TopicPath, streams: StreamsDep, subscribers: SubscribersDep) -> TopicInfo:
    """How many events the topic keeps, the newest id, and how many streams are open on it here."""
    last_id = await streams.last_id(topic)
    return TopicInfo(
        topic=topic,
        length=await streams.length(topic),
        last_event_id=None if last_id == BEGINNING else last_id,
        subscribers=subscribers.count(topic),
    )
