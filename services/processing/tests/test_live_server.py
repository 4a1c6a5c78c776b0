"""Processing end to end over a real socket: the response comes first, the work after.

Under uvicorn the 202 is on the wire before the task starts, so a test must wait for the
outcome. `eventually` polls with a deadline; a fixed `sleep` would be either too short on a
slow machine (a flaky failure) or too long everywhere.
"""

from collections.abc import AsyncIterator
from unittest.mock import AsyncMock

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LiveServer, override_dependencies
from processing.dependencies import get_summarizer
from processing.summary import generate_ai_summary

from .helpers import GatedSummarizer, create_article, wait_for_status

pytestmark = pytest.mark.background


@pytest.fixture
async def http(live_server: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    # Every read has a deadline: a broken server fails the test instead of hanging it.
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        yield client


async def test_the_response_arrives_before_the_task_finishes(http: httpx.AsyncClient, gated: GatedSummarizer) -> None:
    """With the summariser held at its gate, the 202 still arrives: the task runs after it."""
    article = await create_article(http)

    response = await http.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    await gated.wait_started()
    assert (await http.get(f"/api/articles/{article['id']}")).json()["status"] == "processing"
    gated.gate.set()
    processed = await wait_for_status(http, article["id"], "processed")
    assert processed["summary"] == f"Gated summary of: {article['content']}"


async def test_an_article_is_processed_end_to_end(http: httpx.AsyncClient) -> None:
    content = "Real sockets show what users see. The response comes first. The summary follows."
    article = await create_article(http, content=content)

    response = await http.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    processed = await wait_for_status(http, article["id"], "processed")
    assert processed == article | {"status": "processed", "summary": await generate_ai_summary(content)}


async def test_a_failure_ends_failed_with_the_article_intact(app: FastAPI, http: httpx.AsyncClient) -> None:
    article = await create_article(http)
    failing = AsyncMock(side_effect=RuntimeError("model unavailable"))

    with override_dependencies(app, {get_summarizer: lambda: failing}):
        response = await http.post(f"/api/articles/{article['id']}/process")
        failed = await wait_for_status(http, article["id"], "failed")

    assert response.status_code == 202, response.text
    assert failed == article | {"status": "failed", "error": "RuntimeError: model unavailable"}
