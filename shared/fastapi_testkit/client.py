"""An httpx client for an ASGI app, with the app's lifespan running."""

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from starlette.types import ASGIApp


class LifespanClient(httpx.AsyncClient):
    """An `httpx.AsyncClient` that also carries the state the app's lifespan yielded."""

    def __init__(self, *, state: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state


@asynccontextmanager
async def lifespan_client(
    app: ASGIApp,
    *,
    base_url: str = "http://testserver",
    startup_timeout: float = 10,
    shutdown_timeout: float = 10,
    headers: Mapping[str, str] | None = None,
) -> AsyncIterator[LifespanClient]:
    """Start `app`'s lifespan, yield a client for it, then shut the lifespan down.

    `ASGITransport` alone never sends lifespan events, so an app whose engine or pools are
    created in its lifespan would fail on the first request. `LifespanManager` runs the
    lifespan; its `.app` wraps the app so that every request sees the lifespan state
    (`request.state`), which the bare app would not.
    """
    async with LifespanManager(app, startup_timeout=startup_timeout, shutdown_timeout=shutdown_timeout) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        # asgi-lifespan keeps the state dict it passes to every request in `_state`; it has no
        # public accessor, and tests need it to reach the app's engine or cache.
        async with LifespanClient(
            state=manager._state, transport=transport, base_url=base_url, headers=headers
        ) as client:
            yield client
