"""The service reads its environment: every documented `ARTICLES_*` variable is honoured.

The other suites build `Settings(...)` explicitly, so they would stay green if the prefix or a
field name changed. These tests set the variables the README documents, let `create_app()`
read them as a deployment does, and check what each one changes. The serving settings
(`ARTICLES_ACCESS_LOG`, the connection limits) are test_serve.py's.
"""

import os
import re
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from articles.app import create_app
from articles.models import Article
from articles.redis_client import RedisUnavailableError
from articles.settings import Settings
from fastapi_testkit import create_token, lifespan_client
from fastapi_testkit.process import free_port

from .helpers import SECRET

README = Path(__file__).parents[1] / "README.md"
# A secret the conftest never uses, so only the environment can have supplied it.
ENV_SECRET = "a-secret-only-the-environment-knows-32b"


def _clear_articles_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("ARTICLES_")]:
        monkeypatch.delenv(name)


def test_the_readme_documents_every_setting() -> None:
    documented = set(re.findall(r"^\| `(ARTICLES_[A-Z_]+)` \|", README.read_text(), flags=re.MULTILINE))

    assert documented == {f"ARTICLES_{name.upper()}" for name in Settings.model_fields}


async def test_create_app_reads_every_variable(
    monkeypatch: pytest.MonkeyPatch, database_url: str, redis_url: str | None
) -> None:
    _clear_articles_environment(monkeypatch)
    monkeypatch.setenv("ARTICLES_DATABASE_URL", database_url)
    if redis_url is not None:  # embedded: the variable stays unset (fakeredis); see the next test
        monkeypatch.setenv("ARTICLES_REDIS_URL", redis_url)
    monkeypatch.setenv("ARTICLES_JWT_SECRET", ENV_SECRET)
    monkeypatch.setenv("ARTICLES_CACHE_TTL", "17")
    monkeypatch.setenv("ARTICLES_MAX_BODY_BYTES", "2000")
    monkeypatch.setenv("ARTICLES_REDIS_MAX_CONNECTIONS", "19")
    monkeypatch.setenv("ARTICLES_REDIS_POOL_TIMEOUT", "0.25")
    monkeypatch.setenv("ARTICLES_JWT_LEEWAY", "30")

    async with lifespan_client(create_app()) as client:
        # JWT secret: a token signed with it passes, one signed with the tests' usual one does not.
        body = {"title": "From the environment", "content": "c", "status": "published"}
        refused = await client.post("/api/articles/", json=body, headers=_bearer(SECRET))
        created = await client.post("/api/articles/", json=body, headers=_bearer(ENV_SECRET))
        assert refused.status_code == 401, refused.text
        assert created.status_code == 201, created.text
        # JWT leeway: a token valid 20 s from now passes (10 s by default).
        not_yet = {"Authorization": f"Bearer {create_token('alice', ENV_SECRET, nbf=int(time.time()) + 20)}"}
        early = await client.post("/api/articles/", json=body | {"status": "draft"}, headers=not_yet)
        assert early.status_code == 201, early.text
        assert (await client.get(f"/api/articles/{created.json()['id']}")).status_code == 200  # now cached
        too_big = body | {"content": "x" * 2000}  # max body: 1 MiB by default
        assert (
            refused_body := await client.post("/api/articles/", json=too_big, headers=_bearer(ENV_SECRET))
        ).status_code == 413, refused_body.text
        redis_pool = client.state["cache"].redis.connection_pool
        assert (redis_pool.max_connections, redis_pool.timeout) == (19, 0.25)
        key = client.state["cache"].key(created.json()["id"])
        ttl = await client.state["cache"].redis.ttl(key)

    assert 0 < ttl <= 17  # cache TTL: 60 by default
    assert await _rows_at(database_url) == 2  # database URL: the row is where the variable said
    if redis_url is not None:  # Redis URL: the entry is on that server, seen by another client
        async with Redis.from_url(redis_url) as other:
            assert await other.exists(key) == 1


async def test_the_redis_url_is_read_on_both_backends(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    """Embedded runs leave ARTICLES_REDIS_URL unset; a server nobody runs proves it is read."""
    _clear_articles_environment(monkeypatch)
    monkeypatch.setenv("ARTICLES_DATABASE_URL", database_url)
    url = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv("ARTICLES_REDIS_URL", url)

    with pytest.raises(RedisUnavailableError, match=f"Redis at {url} did not answer"):
        async with lifespan_client(create_app()):
            pass  # pragma: no cover


def test_the_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    _clear_articles_environment(monkeypatch)

    settings = Settings()

    assert settings.database_url == "sqlite+aiosqlite:///articles.db"
    assert settings.redis_url is None
    assert settings.cache_ttl == 60
    assert settings.max_body_bytes == 1_048_576
    assert (settings.redis_max_connections, settings.redis_pool_timeout) == (100, 0.5)
    assert settings.jwt_leeway == 10


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ARTICLES_JWT_SECRET", "too-short"),
        ("ARTICLES_JWT_LEEWAY", "-1"),
        ("ARTICLES_CACHE_TTL", "0"),
        ("ARTICLES_CACHE_TTL", "soon"),
    ],
)
def test_a_bad_value_fails_at_startup_naming_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    _clear_articles_environment(monkeypatch)
    monkeypatch.setenv(name, value)

    with pytest.raises(ValueError, match=name.removeprefix("ARTICLES_").lower()):
        create_app()


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_token('alice', secret)}"}


async def _rows_at(database_url: str) -> int:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return int(await connection.scalar(select(func.count()).select_from(Article)) or 0)
    finally:
        await engine.dispose()
