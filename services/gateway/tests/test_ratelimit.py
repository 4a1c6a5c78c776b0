"""The rate limit: per client, in Redis, 429 with Retry-After."""

import asyncio
import logging
from collections import Counter

import httpx
import pytest
from fastapi import FastAPI
from httpx_ws import WebSocketDisconnect

from fastapi_testkit import LifespanClient, lifespan_client, live_server
from fastapi_testkit.routing import RoutingTransport
from fastapi_testkit.websocket import WebSocketConnector
from gateway.app import create_app
from gateway.ratelimit import RateLimiter
from gateway.settings import Settings

from .helpers import LONG_WINDOW

pytestmark = pytest.mark.ratelimit


@pytest.fixture
def app(settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]) -> FastAPI:
    """The gateway with a limit of 3 requests a window (a day: a test's requests never straddle two)."""
    limited = settings.model_copy(update={"rate_limit": 3})
    return create_app(limited, transport=RoutingTransport(upstreams))


async def test_the_request_over_the_limit_is_429_with_retry_after(client: LifespanClient) -> None:
    statuses = [(await client.get("/articles/x")).status_code for _ in range(3)]

    over = await client.get("/articles/x")

    assert statuses == [200, 200, 200]
    assert over.status_code == 429, over.text
    assert over.json() == {"detail": "Rate limit exceeded"}
    assert 1 <= int(over.headers["Retry-After"]) <= LONG_WINDOW


async def test_each_api_key_has_its_own_limit(client: LifespanClient) -> None:
    for _ in range(3):
        await client.get("/articles/x", headers={"X-API-Key": "alice"})

    assert (reply := await client.get("/articles/x", headers={"X-API-Key": "alice"})).status_code == 429, reply.text
    assert (reply := await client.get("/articles/x", headers={"X-API-Key": "bob"})).status_code == 200, reply.text
    assert (reply := await client.get("/articles/x")).status_code == 200, reply.text  # no key: counted by address


async def test_an_unknown_api_key_buys_no_bucket_of_its_own(client: LifespanClient) -> None:
    """An unknown key counts against the address, like no key at all: counted as itself, a
    fresh made-up key per request would be a fresh bucket each time, and no limit at all."""
    answers = [(await client.get("/articles/x", headers={"X-API-Key": f"made-up-{i}"})).status_code for i in range(4)]

    assert answers == [200, 200, 200, 429]
    assert (reply := await client.get("/articles/x", headers={"X-API-Key": "alice"})).status_code == 200, reply.text


async def test_api_keys_are_not_stored_in_clear(client: LifespanClient) -> None:
    await client.get("/articles/x", headers={"X-API-Key": "alice"})

    keys = [key.decode() for key in await client.state["redis"].keys("ratelimit:*")]
    assert keys
    assert any(key.startswith("ratelimit:key:") for key in keys)
    assert not any("alice" in key for key in keys)


async def test_the_dashboard_counts_too_but_health_does_not(client: LifespanClient) -> None:
    for _ in range(3):
        await client.get("/api/dashboard")

    assert (reply := await client.get("/api/dashboard")).status_code == 429, reply.text
    assert (reply := await client.get("/health")).status_code == 200, reply.text  # orchestrators must always reach it


async def test_the_counter_starts_again_in_the_next_window(client: LifespanClient) -> None:
    limiter = RateLimiter(client.state["redis"], limit=1, window=60)

    first = await limiter.hit("ip:1.2.3.4", now=120.0)
    second = await limiter.hit("ip:1.2.3.4", now=150.0)
    next_window = await limiter.hit("ip:1.2.3.4", now=180.0)

    assert (first.allowed, second.allowed, next_window.allowed) == (True, False, True)
    assert second.retry_after == 30  # 180 - 150


async def test_the_counters_expire_with_their_window(client: LifespanClient) -> None:
    """A counter that never expired would stay in Redis forever, one per client and window."""
    await client.get("/articles/x")

    redis = client.state["redis"]
    [key] = await redis.keys("ratelimit:*")
    assert 0 < await redis.ttl(key) <= LONG_WINDOW


async def test_gateways_sharing_a_redis_share_the_limit(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Two instances, one Redis: the limit holds across them (fakeredis shared by its server)."""
    from unittest.mock import AsyncMock, patch

    from fakeredis import FakeAsyncRedis, FakeServer

    server = FakeServer()
    limited = settings.model_copy(update={"rate_limit": 2})
    with patch("gateway.app.open_redis", new=AsyncMock(side_effect=lambda url, **pool: FakeAsyncRedis(server=server))):
        apps = [create_app(limited, transport=RoutingTransport(upstreams)) for _ in range(2)]
        async with lifespan_client(apps[0]) as one, lifespan_client(apps[1]) as two:
            answers = [(await one.get("/articles/x")).status_code, (await two.get("/articles/x")).status_code]
            answers.append((await one.get("/articles/x")).status_code)

    assert answers == [200, 200, 429]


@pytest.mark.real_only(reason="two gateways on one real Redis server; the fakeredis twin is above")
async def test_gateways_sharing_a_real_redis_share_each_identitys_limit(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """A key's count is the same Redis key on every instance, and another key's is not."""
    limited = settings.model_copy(update={"rate_limit": 2})
    alice, bob = {"X-API-Key": "alice"}, {"X-API-Key": "bob"}
    apps = [create_app(limited, transport=RoutingTransport(upstreams)) for _ in range(2)]
    async with lifespan_client(apps[0]) as one, lifespan_client(apps[1]) as two:
        answers = [(await gateway.get("/articles/x", headers=alice)).status_code for gateway in (one, two, one)]
        other = await two.get("/articles/x", headers=bob)

    assert answers == [200, 200, 429]
    assert other.status_code == 200, other.text


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """A forged X-Forwarded-For picked a fresh address per request. By default no one is
    trusted; with the peer (127.0.0.1) a trusted proxy, the client it names is counted."""
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(4)]
    limited = settings.model_copy(update={"rate_limit": 3})

    async with lifespan_client(create_app(limited, transport=RoutingTransport(upstreams))) as edge:
        at_the_edge = [(await edge.get("/articles/x", headers=h)).status_code for h in spoofed]
    behind = limited.model_copy(update={"trusted_proxies": ("127.0.0.1",)})
    async with lifespan_client(create_app(behind, transport=RoutingTransport(upstreams))) as proxied:
        behind_a_proxy = [(await proxied.get("/articles/x", headers=h)).status_code for h in spoofed]

    assert at_the_edge == [200, 200, 200, 429]
    assert behind_a_proxy == [200, 200, 200, 200]


@pytest.mark.concurrency
async def test_a_small_pool_still_counts_every_concurrent_request(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport], caplog: pytest.LogCaptureFixture
) -> None:
    """More concurrent requests than Redis connections wait for one, and are counted: redis-py's
    default pool refused the excess at once, and the fail-open path let it through."""
    small = settings.model_copy(update={"rate_limit": 3, "redis_max_connections": 2, "redis_pool_timeout": 5.0})
    async with lifespan_client(create_app(small, transport=RoutingTransport(upstreams))) as client:
        with caplog.at_level(logging.WARNING, logger="gateway.ratelimit"):
            answers = await asyncio.gather(*[client.get("/articles/x") for _ in range(10)])

    assert Counter(answer.status_code for answer in answers) == {200: 3, 429: 7}
    assert "rate limit unavailable" not in caplog.text


async def test_a_request_that_waits_past_the_pool_timeout_is_503(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Every connection busy is the gateway's own overload, not a Redis outage: 503 with
    Retry-After, not let through (fail-open is for Redis failing) and not retried."""
    one = settings.model_copy(update={"redis_max_connections": 1, "redis_pool_timeout": 0.05})
    async with lifespan_client(create_app(one, transport=RoutingTransport(upstreams))) as client:
        pool = client.state["redis"].connection_pool
        busy = await pool.get_connection()  # the only connection, held as a long command would
        try:
            refused = await client.get("/articles/x")
        finally:
            await pool.release(busy)
        served = await client.get("/articles/x")

    assert refused.status_code == 503, refused.text
    assert refused.json() == {"detail": "The gateway is busy; try again"}
    assert refused.headers["Retry-After"] == "1"
    assert served.status_code == 200, served.text


@pytest.mark.concurrency
@pytest.mark.real_only(reason="redis-py's pool limits connections to a real server; fakeredis has its own twin above")
async def test_concurrent_requests_past_the_pool_are_all_counted_on_real_redis(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """300 concurrent requests from one address, the default limit (100) and pool (100
    connections, 0.5 s wait), over real sockets: at most 100 pass, the rest are counted (429) or
    told to come back (503, a pool wait past its timeout on a busy machine); none is let through
    uncounted. With redis-py's default pool, 279 passed. The tests' long window, so the burst does
    not straddle two windows (each would allow 100)."""
    defaults = Settings()
    limited = settings.model_copy(
        update={
            "rate_limit": defaults.rate_limit,
            "redis_max_connections": defaults.redis_max_connections,
            "redis_pool_timeout": defaults.redis_pool_timeout,
        }
    )
    concurrent = httpx.Limits(max_connections=300)
    async with (
        live_server(create_app(limited, transport=RoutingTransport(upstreams))) as gateway,
        httpx.AsyncClient(base_url=gateway.url, limits=concurrent, timeout=30) as http,
    ):
        answers = await asyncio.gather(*[http.get("/articles/x") for _ in range(300)])

    statuses = Counter(answer.status_code for answer in answers)
    assert 0 < statuses[200] <= defaults.rate_limit, statuses
    assert set(statuses) <= {200, 429, 503}, statuses


async def test_a_forged_forwarded_for_from_a_peer_that_is_no_trusted_proxy_is_not_believed(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Proxies configured, but the peer (127.0.0.1) is not one of them: each forged address is
    counted as the peer, and the upstream is told the peer's address, not the forged one."""
    spoofed = [{"X-Forwarded-For": f"203.0.113.{i}"} for i in range(4)]
    behind = settings.model_copy(update={"rate_limit": 3, "trusted_proxies": ("10.0.0.0/8",)})

    async with lifespan_client(create_app(behind, transport=RoutingTransport(upstreams))) as client:
        answers = [await client.get("/articles/x", headers=h) for h in spoofed]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert {answer.json()["headers"]["x-forwarded-for"] for answer in answers[:3]} == {"127.0.0.1"}


async def test_a_multi_hop_forwarded_for_names_the_first_untrusted_address_from_the_right(
    settings: Settings, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """`forged, client, proxy1, proxy2` from a trusted peer: the proxies are skipped from the
    right and the client is counted; what the client wrote to the left of itself proves nothing
    (read from the left, each forged entry was a fresh bucket)."""
    behind = settings.model_copy(update={"rate_limit": 3, "trusted_proxies": ("127.0.0.1", "10.0.0.0/8")})

    def via_proxies(client: str, forged: str) -> dict[str, str]:
        return {"X-Forwarded-For": f"{forged}, {client}, 10.0.0.1, 10.0.0.2"}

    async with lifespan_client(create_app(behind, transport=RoutingTransport(upstreams))) as client:
        one = [
            (await client.get("/articles/x", headers=via_proxies("203.0.113.7", f"198.51.100.{i}"))).status_code
            for i in range(4)
        ]
        other = (await client.get("/articles/x", headers=via_proxies("203.0.113.8", "198.51.100.0"))).status_code

    assert one == [200, 200, 200, 429]
    assert other == 200  # another client behind the same proxies has a bucket of its own


async def opens(ws: WebSocketConnector, headers: dict[str, str]) -> str:
    """What /chat/ws/echo answers to "hi", or the code and reason its handshake was closed with."""
    try:
        async with ws.connect("/chat/ws/echo", headers=headers) as session:
            await session.send_text("hi")
            return await session.receive_text()
    except WebSocketDisconnect as closed:
        return f"{closed.code} {closed.reason}"


@pytest.mark.websocket
async def test_a_websocket_handshake_shares_its_clients_http_budget(app: FastAPI, client: LifespanClient) -> None:
    """A limit of 3 per identity, counted across HTTP requests and WebSocket handshakes: over
    it, a handshake is closed before accept with 1013 (try again later). The address and each
    known key have budgets of their own, on either protocol."""
    ws = WebSocketConnector(app, state=client.state)
    bob = {"X-API-Key": "bob"}

    address_http = [(await client.get("/articles/x")).status_code for _ in range(3)]
    address_ws = await opens(ws, {})
    bob_ws = [await opens(ws, bob) for _ in range(3)]
    bob_http = await client.get("/articles/x", headers=bob)
    alice_ws = await opens(ws, {"X-API-Key": "alice"})

    assert address_http == [200, 200, 200]
    assert address_ws == "1013 Rate limit exceeded"
    assert bob_ws == ["chat: hi"] * 3
    assert bob_http.status_code == 429, bob_http.text
    assert alice_ws == "chat: hi"
