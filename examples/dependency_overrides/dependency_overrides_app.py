"""The article's "Async Dependency Overrides", with overrides undone and AsyncMock used right.

The article's fixtures end in `app.dependency_overrides.clear()`, which also drops overrides
that others still rely on; here `monkeypatch.setitem(app.dependency_overrides, ...)` puts back
exactly what was there (conftest.py). Its cache test passed whether the database was read or
not; here the awaited loader is patched with `new=AsyncMock(return_value=...)` and its awaits
counted. At depth: services/articles/tests/test_cache.py and services/articles/tests/test_auth.py.
"""

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import OAuth2PasswordBearer
from pydantic import BaseModel
from redis.asyncio import Redis

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class User(BaseModel):
    id: int
    username: str


async def get_cache() -> AsyncIterator[Redis]:
    async with Redis.from_url("redis://localhost:6379/0") as redis:
        yield redis


async def find_user(token: str) -> User | None:
    return None  # a real app verifies the JWT and loads its user here


async def load_article(article_id: int) -> dict[str, Any]:
    return {"id": article_id, "title": "From the database"}  # a real app queries here


async def get_current_user(token: Annotated[str, Depends(oauth2_scheme)]) -> User:
    if (user := await find_user(token)) is None:
        raise HTTPException(status_code=401, detail="Invalid token")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]
app = FastAPI()


@app.get("/api/me")
async def me(user: CurrentUser) -> User:
    return user


@app.get("/api/articles/{article_id}")
async def read_article(article_id: int, user: CurrentUser, cache: Annotated[Redis, Depends(get_cache)]) -> Any:
    if (cached := await cache.get(f"article:{article_id}")) is not None:
        return json.loads(cached)
    article = await load_article(article_id)
    await cache.set(f"article:{article_id}", json.dumps(article))
    return article
