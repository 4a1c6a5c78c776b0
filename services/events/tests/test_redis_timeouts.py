"""An idle stream lives as long as its client: the Redis socket timeout outlasts the XREAD BLOCK.

redis-py 8 gives every read a 5 s socket timeout by default. An idle stream blocks in XREAD for
the keep-alive interval (10 s by default), so on a real Redis with that default its read would
time out after 5 s, the service would take Redis for gone and end the stream without one
keep-alive. The socket timeout is the interval plus `redis_timeout_margin` (app.py,
`redis_options`).

fakeredis applies no socket timeout at all, so these run on a real server only: on the fake they
would pass with or without the margin.
"""

import asyncio
import time
from typing import Any
from unittest.mock import patch

import httpx
import pytest

from events.app import create_app
from events.redis_client import redis_options
from events.settings import Settings
from fastapi_testkit import live_server

pytestmark = pytest.mark.sse

REAL_ONLY = pytest.mark.real_only(reason="fakeredis applies no socket timeout: only a server can time a read out")
COMMENT = ": keep-alive\n\n"


def scaled(redis_url: str) -> Settings:
    """Scaled down: a block of 0.5 s and a reply margin of 0.5 s, so a socket timeout of 1 s."""
    return Settings(redis_url=redis_url, keepalive_interval=0.5, redis_timeout_margin=0.5)


async def idle_stream_text(settings: Settings, *, comments: int, deadline: float) -> tuple[str, float]:
    """What an idle stream sends until `comments` keep-alives have come or it ended, and how long that took."""
    app = create_app(settings)
    text = ""
    async with (
        live_server(app) as server,
        httpx.AsyncClient(base_url=server.url, timeout=deadline) as http,
        http.stream("GET", "/api/topics/idle/stream") as response,
    ):
        assert response.status_code == 200, await response.aread()
        started = time.monotonic()
        async with asyncio.timeout(deadline):
            async for chunk in response.aiter_text():
                text += chunk
                if text.count(COMMENT) == comments:
                    break
        return text, time.monotonic() - started


SERVER = "redis://127.0.0.1:6379/0"  # only read, never connected to


def test_the_socket_timeout_is_the_block_plus_the_margin() -> None:
    options = redis_options(Settings(redis_url=SERVER, keepalive_interval=7, redis_timeout_margin=2))

    assert (options["socket_timeout"], options["socket_connect_timeout"]) == (9, 2)
    # On the defaults: longer than the 10 s XREAD BLOCK, where redis-py's own default was 5 s.
    defaults = Settings(redis_url=SERVER)
    assert redis_options(defaults)["socket_timeout"] == 15 > defaults.keepalive_interval


def test_fakeredis_gets_no_network_options() -> None:
    """It has no socket, and its replies fail redis-py's PING health check: every request a 503."""
    assert set(redis_options(Settings(redis_url=None))) == {"decode_responses", "max_connections"}


@REAL_ONLY
async def test_an_idle_stream_outlives_its_socket_timeout(redis_url: str) -> None:
    settings = scaled(redis_url)
    socket_timeout = redis_options(settings)["socket_timeout"]

    text, elapsed = await idle_stream_text(settings, comments=3, deadline=5)

    assert text == COMMENT * 3
    # Three blocked reads in a row, together well past the time one read may take: each read
    # returned (empty) within its timeout, and the stream went on.
    assert elapsed > 1.2 * socket_timeout


@REAL_ONLY
async def test_a_socket_timeout_below_the_block_ends_an_idle_stream(redis_url: str) -> None:
    """The control: the setup above catches the bug. A fixed timeout shorter than the block
    (redis-py's 5 s against a 10 s block, scaled down) ends the stream before its first keep-alive."""
    settings = scaled(redis_url)

    def old_rule(settings: Settings) -> dict[str, Any]:
        return {**redis_options(settings), "socket_timeout": settings.keepalive_interval / 2}

    with patch("events.app.redis_options", new=old_rule):
        text, elapsed = await idle_stream_text(settings, comments=3, deadline=5)

    assert text == ""  # ended cleanly, and without a keep-alive
    assert elapsed < settings.keepalive_interval + 1


@REAL_ONLY
@pytest.mark.slow
async def test_an_idle_stream_on_the_defaults_survives_past_ten_seconds(redis_url: str) -> None:
    settings = Settings(redis_url=redis_url)
    assert settings.keepalive_interval == 10  # the defaults, not a test's

    text, elapsed = await idle_stream_text(settings, comments=1, deadline=20)

    # With redis-py's default socket timeout: no keep-alive, the stream ends at 5 s.
    assert text == COMMENT
    assert elapsed >= settings.keepalive_interval * 0.95
