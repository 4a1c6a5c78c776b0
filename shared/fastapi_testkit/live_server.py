"""The app under a real uvicorn server on 127.0.0.1, for tests that need real sockets."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp


@dataclass(frozen=True)
class LiveServer:
    """A running server: where to reach it, and the uvicorn server behind it."""

    host: str
    port: int
    server: uvicorn.Server

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def state(self) -> dict[str, Any]:
        """The state the app's lifespan yielded, as `client.state` is for the in-process client.

        uvicorn keeps it on its lifespan handler and gives every request a copy of it.
        """
        state: dict[str, Any] = self.server.lifespan.state
        return state


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit as exit_:
        # uvicorn calls sys.exit() when startup fails; inside a test that would end the run.
        raise RuntimeError(f"uvicorn stopped during startup (exit code {exit_.code}); see its log above") from None


@asynccontextmanager
async def live_server(
    app: ASGIApp,
    *,
    startup_timeout: float = 10,
    shutdown_timeout: float = 10,
    **config: Any,
) -> AsyncIterator[LiveServer]:
    """Serve `app` on 127.0.0.1 with a free port, in the current event loop, lifespan included.

    Needed where the in-process transport cannot stand in for a network: endless streams
    (ASGITransport buffers the whole response), disconnects, real WebSocket clients.
    On exit the server stops accepting, lets open requests finish for `shutdown_timeout`
    seconds, then closes what is left, so a test cannot leave a server behind. Other keyword
    arguments go to `uvicorn.Config` (`ws_max_size=...`: the limits a service's `__main__` sets).
    """
    options: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "lifespan": "on", "log_level": "warning"} | config
    server = uvicorn.Server(uvicorn.Config(app, **options))
    task = asyncio.create_task(_serve(server), name="fastapi_testkit.live_server")
    try:
        async with asyncio.timeout(startup_timeout):
            while not server.started:
                if task.done():
                    await task  # raises the startup failure
                    raise RuntimeError("uvicorn stopped during startup; see its log above")
                await asyncio.sleep(0.005)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield LiveServer(host="127.0.0.1", port=port, server=server)
    finally:
        server.should_exit = True
        try:
            async with asyncio.timeout(shutdown_timeout):
                await asyncio.shield(task)
        except TimeoutError:
            server.force_exit = True
            await task
