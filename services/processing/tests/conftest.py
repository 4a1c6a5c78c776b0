"""Fixtures for the processing suite.

The kit (fastapi_testkit, a pytest plugin) provides `database_url` (a fresh database per test,
a SQLite file or PostgreSQL), `client` (an httpx client with the lifespan running, built on the
`app` fixture below) and `live_server`. This file says how to build this service's app from
them, and adds a summariser the test controls.
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, eventually, override_dependencies
from processing.app import create_app
from processing.dependencies import get_summarizer
from processing.settings import Settings
from processing.summary import generate_ai_summary

# How long a gated summariser waits for its test before giving up: a test that forgets to open
# the gate fails (the article ends `failed`) instead of hanging.
GATE_TIMEOUT = 10


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Every field set explicitly, so PROCESSING_* variables in the shell cannot leak into tests.
    return Settings(
        database_url=database_url,
        max_title_length=200,
        max_content_length=100_000,
        summarizer=generate_ai_summary,
        summary_timeout=GATE_TIMEOUT + 5,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


class GatedSummarizer:
    """A summariser that waits until the test opens its gate, to hold a task in `processing`.

    `started` is set when a task calls it; `calls` holds the content of every call.
    """

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.started = asyncio.Event()
        self.gate = asyncio.Event()

    async def __call__(self, content: str) -> str:
        self.calls.append(content)
        self.started.set()
        async with asyncio.timeout(GATE_TIMEOUT):
            await self.gate.wait()
        return f"Gated summary of: {content}"

    async def wait_started(self) -> None:
        async with asyncio.timeout(GATE_TIMEOUT):
            await self.started.wait()


@pytest.fixture
def gated(app: FastAPI) -> Iterator[GatedSummarizer]:
    """Every task the app queues in this test uses a `GatedSummarizer` (a dependency override)."""
    summarizer = GatedSummarizer()
    with override_dependencies(app, {get_summarizer: lambda: summarizer}):
        yield summarizer


PostArticle = Callable[..., Awaitable[dict[str, Any]]]


async def create_article(http: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    """Create an article through the API and return its JSON."""
    body = {"title": "A title", "content": "Some content to summarise. It has two sentences."} | fields
    response = await http.post("/api/articles/", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


@pytest.fixture
def post_article(client: LifespanClient) -> PostArticle:
    """`await post_article(title=..., content=...)`: create one through `client`, return its JSON."""

    async def post(**fields: str) -> dict[str, Any]:
        return await create_article(client, **fields)

    return post


async def wait_for_status(http: httpx.AsyncClient, article_id: int, status: str) -> dict[str, Any]:
    """Poll the article until its status is `status` and return it; fail after 10 s.

    For clients whose responses arrive before the background task has finished (a live
    server): `eventually` waits with a deadline, where a fixed sleep would be flaky or slow.
    """
    article: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal article
        article = (await http.get(f"/api/articles/{article_id}")).json()
        assert article["status"] == status, article
        return True

    await eventually(reached, timeout=10, message=f"article {article_id} never became {status}")
    return article
