"""Time under control with time-machine: expiry tested at its edges, with no sleep.

Why: waiting out a token's `exp` or a cache TTL in real time makes a test as slow as the
setting, and flaky at the edge; threading a `now=` parameter through the app only for tests
bends its code. time-machine moves the process's clock (`time.time`, `datetime.now`) and
nothing else: PyJWT and fakeredis read that clock, so they see the jump. The event loop runs on
`time.monotonic`, which time-machine leaves alone, so awaits and timeouts keep working.
A real Redis expires keys by its own clock, on another process: there the test asserts the TTL
the app set instead (and shows that travelling does not reach the server).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from time_machine import TimeMachineFixture

from articles.cache import ArticleCache
from fastapi_testkit import LifespanClient, create_token

from .helpers import LEEWAY, SECRET, PostArticle

# Strict mode (pyproject.toml): pytest-asyncio runs only the tests marked for it (test_anyio.py).
START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LIFETIME = 300  # seconds the token is valid
TTL = 60  # the cache TTL the conftest's settings give


def at(seconds: float) -> datetime:
    return START + timedelta(seconds=seconds)


@pytest.mark.auth
async def test_a_token_is_valid_until_the_leeway_after_exp_and_refused_one_second_later(
    client: LifespanClient, time_machine: TimeMachineFixture
) -> None:
    """The leeway (ARTICLES_JWT_LEEWAY, the conftest's settings) forgives an issuer's clock ahead."""
    # tick=False: the clock stands still between jumps, so "one second" means exactly that.
    time_machine.move_to(START, tick=False)
    headers = {"Authorization": f"Bearer {create_token('alice', SECRET, expires_in=LIFETIME)}"}
    article = {"title": "On time", "content": "c"}

    statuses = {}
    for past_exp in (-1, 3, LEEWAY - 1):
        time_machine.move_to(at(LIFETIME + past_exp), tick=False)
        statuses[past_exp] = (await client.post("/api/articles/", json=article, headers=headers)).status_code
    time_machine.move_to(at(LIFETIME + LEEWAY + 1), tick=False)
    refused = await client.post("/api/articles/", json=article, headers=headers)

    assert statuses == {-1: 201, 3: 201, LEEWAY - 1: 201}
    assert refused.status_code == 401, refused.text
    assert "expired" in refused.json()["detail"]


@pytest.mark.auth
@pytest.mark.parametrize("claim", ["iat", "nbf"])
async def test_a_token_from_a_clock_ahead_is_accepted_within_the_leeway_and_refused_beyond(
    client: LifespanClient, time_machine: TimeMachineFixture, claim: str
) -> None:
    time_machine.move_to(START, tick=False)
    ahead = int(START.timestamp()) + 5
    beyond = int(START.timestamp()) + LEEWAY + 1
    article = {"title": "From the future", "content": "c"}

    accepted = await client.post("/api/articles/", json=article, headers=_bearer(**{claim: ahead}))
    refused = await client.post("/api/articles/", json=article, headers=_bearer(**{claim: beyond}))

    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["created_at"] == "2030-01-01T12:00:00Z"  # the app's clock is START
    assert refused.status_code == 401, refused.text
    assert f"not yet valid ({claim})" in refused.json()["detail"]


def _bearer(**claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token('alice', SECRET, **claims)}"}


@pytest.mark.cache
@pytest.mark.embedded_only(reason="fakeredis expires keys by this process's clock; a Redis server by its own")
async def test_a_cached_article_expires_after_its_ttl(
    client: LifespanClient, cache: ArticleCache, post_article: PostArticle, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(START, tick=False)
    created = await post_article()
    await client.get(f"/api/articles/{created['id']}")  # cached now, for TTL seconds

    time_machine.move_to(at(TTL - 1), tick=False)
    still_cached = await cache.get(created["id"])
    time_machine.move_to(at(TTL + 1), tick=False)
    expired = await cache.get(created["id"])

    assert still_cached is not None
    assert expired is None


@pytest.mark.cache
@pytest.mark.real_only(reason="shows why the embedded test's travel proves nothing on a Redis server")
async def test_on_a_real_redis_the_ttl_is_asserted_not_travelled(
    client: LifespanClient, cache: ArticleCache, post_article: PostArticle, time_machine: TimeMachineFixture
) -> None:
    created = await post_article()
    await client.get(f"/api/articles/{created['id']}")
    key = cache.key(created["id"])

    ttl_ms = await cache.redis.pttl(key)
    time_machine.move_to(datetime.now(UTC) + timedelta(seconds=TTL + 1))  # the server's clock does not move

    assert (TTL - 5) * 1000 < ttl_ms <= TTL * 1000  # what the app set: the setting, not a default
    assert await cache.get(created["id"]) is not None
