"""The app factory and its lifespan."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TypedDict

from fastapi import FastAPI

from chat.fanout import FanOut, open_fanout
from chat.groups import Groups
from chat.history_writer import HistoryWriter, open_history_writer
from chat.routes import router
from chat.settings import Settings
from chat.storage import History, open_history
from service_runtime import errors


class State(TypedDict):
    """What the lifespan hands to every request and WebSocket, as `connection.state.<key>`."""

    settings: Settings
    rooms: Groups  # room id -> the members connected to this instance
    inboxes: Groups  # user id -> that user's notification sockets on this instance
    fanout: FanOut
    history: History  # what the HTTP API reads
    history_writer: HistoryWriter  # what room messages are handed to, once delivered


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings; `None` reads the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[State]:
        # Created here, not at import time: each app (and each test's app) gets its own rooms,
        # clients and listener task, bound to the event loop that serves it.
        # Closed in the reverse order: the writer flushes into a history still open.
        rooms = Groups()
        async with (
            open_history(settings.mongo_url) as history,
            open_history_writer(
                history, queue_size=settings.history_queue_size, flush_timeout=settings.history_flush_timeout
            ) as history_writer,
            open_fanout(
                settings.redis_url,
                rooms,
                max_connections=settings.redis_max_connections,
                pool_timeout=settings.redis_pool_timeout,
            ) as fanout,
        ):
            yield {
                "settings": settings,
                "rooms": rooms,
                "inboxes": Groups(),
                "fanout": fanout,
                "history": history,
                "history_writer": history_writer,
            }

    app = FastAPI(title="Chat", lifespan=lifespan, max_body_size=settings.max_body_bytes)
    errors.install(app, errors.REFUSALS)
    app.include_router(router)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
