"""The fixtures an async FastAPI suite needs, to copy into your own tests/conftest.py."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

import running_tests_app


@pytest.fixture
def app() -> FastAPI:
    return running_tests_app.app


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database file per test: nothing leaks between tests, and concurrent requests keep every row."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
    monkeypatch.setenv("DATABASE_URL", url)  # read by the lifespan
    return url


@pytest.fixture
async def client(app: FastAPI, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running: ASGITransport alone never runs it."""
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)  # manager.app carries the lifespan state
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


@pytest.fixture
def log_in(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Requests come from this user until the test ends; then the override that was there before
    (if any) is back. monkeypatch puts back one key; `.clear()` would drop everyone's."""

    def as_user(name: str) -> None:
        monkeypatch.setitem(app.dependency_overrides, running_tests_app.get_current_user, lambda: name)

    return as_user
