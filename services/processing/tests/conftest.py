"""Fixtures for the processing suite.

The kit (fastapi_testkit, a pytest plugin) provides `database_url` (a fresh database per test,
a SQLite file or PostgreSQL), `client` (an httpx client with the lifespan running, built on the
`app` fixture below) and `live_server`. This file says how to build this service's app from
them, and adds a summariser the test controls.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, override_dependencies
from processing.app import create_app
from processing.dependencies import get_summarizer
from processing.settings import Settings
from processing.summary import generate_ai_summary

from .helpers import GATE_TIMEOUT, GatedSummarizer, PostArticle, create_article


@pytest.fixture
def settings(database_url: str) -> Settings:
    # Every field set explicitly, so PROCESSING_* variables in the shell cannot leak into tests.
    return Settings(
        database_url=database_url,
        max_title_length=200,
        max_content_length=100_000,
        summarizer=generate_ai_summary,
        summary_timeout=GATE_TIMEOUT + 5,
        mode="background",
        redis_url=None,
        max_attempts=3,
        retry_delay=0.05,
        # Longer than one job can take (3 x 15 s + back-off), or settings refuse them.
        lease=60,
        recovery_interval=60,
        redelivery_delay=60,
        reclaim_interval=5,
    )


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def gated(app: FastAPI) -> Iterator[GatedSummarizer]:
    """Every task the app queues in this test uses a `GatedSummarizer` (a dependency override)."""
    summarizer = GatedSummarizer()
    with override_dependencies(app, {get_summarizer: lambda: summarizer}):
        yield summarizer


@pytest.fixture
def post_article(client: LifespanClient) -> PostArticle:
    """`await post_article(title=..., content=...)`: create one through `client`, return its JSON."""

    async def post(**fields: str) -> dict[str, Any]:
        return await create_article(client, **fields)

    return post
