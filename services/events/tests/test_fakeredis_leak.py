"""The embedded fakeredis does not grow with every stream a client drops.

A stream a client leaves is cancelled in its blocking XREAD; redis-py then disconnects that
connection. fakeredis 2.41's async disconnect forgets its fake socket without taking it off
`FakeServer.sockets`, so each dropped stream would leave a socket (its CLIENT LIST entry, its
queues) behind for good, and its server-side wait would run on until the BLOCK ran out: about
3 MB per 300 subscriptions, for as long as the process lives. redis_client.py gives fakeredis a connection
that lets go of its socket.
"""

import asyncio

import httpx
import pytest
from fakeredis import FakeServer

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import eventually, live_server
from fastapi_testkit.sse import sse_stream

from .helpers import served_state

pytestmark = [
    pytest.mark.sse,
    pytest.mark.embedded_only(reason="counts the embedded fakeredis' own sockets; a real server drops them itself"),
]

DROPS = 20


async def test_streams_a_client_drops_leave_no_fake_socket_or_task_behind() -> None:
    # A keep-alive longer than the test: no XREAD ends by itself, each is cut by the client leaving.
    app = create_app(Settings(redis_url=None, keepalive_interval=60))
    async with live_server(app) as server, httpx.AsyncClient(base_url=server.url, timeout=5) as http:
        state = served_state(server)
        fake: FakeServer = state["streams"].redis.connection_pool.connection_kwargs["server"]

        async def subscribe_and_drop(topic: str) -> None:
            async with sse_stream(http, f"/api/topics/{topic}/stream"):
                pass

            async def gone() -> bool:
                return state["subscribers"].count() == 0

            await eventually(gone, timeout=2)

        await subscribe_and_drop("warm-up")  # the pool's first connections, kept for reuse
        sockets_before, tasks_before = len(fake.sockets), len(asyncio.all_tasks())

        for i in range(DROPS):
            await subscribe_and_drop(f"topic-{i}")

        async def back_to_baseline() -> bool:
            assert len(fake.sockets) <= sockets_before + 1, f"{len(fake.sockets)} fake sockets, {sockets_before} before"
            assert len(asyncio.all_tasks()) <= tasks_before, f"{len(asyncio.all_tasks())} tasks, {tasks_before} before"
            return True

        await eventually(back_to_baseline, timeout=2, message=f"{DROPS} dropped streams left resources behind")
