"""What routes ask for: the streams, the hub, the subscriber count, a stream's subscription.

Each reads what the lifespan created from `request.state`, so tests can swap any of them with
`app.dependency_overrides`.

Every dependency here is `async def`, though most await nothing: FastAPI runs a plain `def`
dependency in its thread pool, a thread hop per request that cost a cached read about a third
of its rate (bench/README.md). None of them blocks, so none needs the thread.
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Path, Query, Request

from events.hub import Subscriber, TopicHub
from events.schemas import EventId, Topic
from events.settings import Settings
from events.storage import TopicStreams
from events.subscribers import Subscribers

TopicPath = Annotated[
    Topic, Path(description="1 to 64 characters of A-Z, a-z, 0-9, '_', '.', '-', other than '.' and '..'")
]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.state.settings
    return settings


async def get_streams(request: Request) -> TopicStreams:
    streams: TopicStreams = request.state.streams
    return streams


async def get_hub(request: Request) -> TopicHub:
    hub: TopicHub = request.state.hub
    return hub


async def get_subscribers(request: Request) -> Subscribers:
    subscribers: Subscribers = request.state.subscribers
    return subscribers


SettingsDep = Annotated[Settings, Depends(get_settings)]
StreamsDep = Annotated[TopicStreams, Depends(get_streams)]
HubDep = Annotated[TopicHub, Depends(get_hub)]
SubscribersDep = Annotated[Subscribers, Depends(get_subscribers)]


async def open_subscription(
    topic: TopicPath,
    streams: StreamsDep,
    hub: HubDep,
    subscribers: SubscribersDep,
    last_event_id_header: Annotated[
        EventId | None, Header(alias="Last-Event-ID", description="what a browser sends when it reconnects")
    ] = None,
    last_event_id: Annotated[
        EventId | None, Query(description="for a first connection, which cannot set headers (EventSource)")
    ] = None,
) -> AsyncIterator[Subscriber]:
    """Fix where the stream starts, attach it to its topic's reader, and count it until its request has ended.

    A dependency, not the top of the generator: dependencies run before the response starts,
    so once a client has the response headers, every event published afterwards is its to
    receive (a test can subscribe, then publish, without a race). And FastAPI runs this
    clean-up after it has stopped the generator's task, also when the client went away: the
    last stream of a topic to leave stops the topic's reader.

    The header wins over the query parameter: a browser that reconnects keeps the URL it
    started with, and its header carries the newer position. An id beyond the topic's newest
    event starts the stream from now (`TopicHub.resume_after`).
    """
    given = last_event_id_header or last_event_id
    after = await hub.resume_after(topic, given) if given else await hub.last_id(topic)
    with subscribers.track(topic), hub.subscribe(topic, after) as subscriber:
        yield subscriber


SubscriptionDep = Annotated[Subscriber, Depends(open_subscription)]
