"""Processing end to end through the in-process client.

httpx's ASGITransport (like Starlette's TestClient) returns the response only after the
app's background tasks have finished, so here the outcome is visible as soon as the trigger
returns: no waiting needed, and none done. Over a real socket the response comes first
(test_live_server.py).

The pattern in its smallest form (a task that opens its own session, its stored effect asserted
right after the trigger, no test kit): examples/background_tasks/ at the repository root.
"""

import asyncio
from unittest.mock import AsyncMock

import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, override_dependencies
from processing.dependencies import get_summarizer
from processing.summary import generate_ai_summary

from .helpers import GATE_TIMEOUT, GatedSummarizer, PostArticle

pytestmark = pytest.mark.background

CONTENT = (
    "Background tasks run after the response is sent. "
    "The weather was pleasant on the day this was written. "
    "A background task that fails after the response must record its failure, "
    "because no response is left to carry it."
)


async def test_the_task_has_finished_when_the_response_arrives(
    client: LifespanClient, post_article: PostArticle
) -> None:
    article = await post_article(content=CONTENT)

    response = await client.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    assert response.json() == {"status": "processing_started"}
    processed = (await client.get(f"/api/articles/{article['id']}")).json()
    assert processed == article | {"status": "processed", "summary": await generate_ai_summary(CONTENT)}
    assert processed["summary"] == (
        "Background tasks run after the response is sent. A background task that fails after the response "
        "must record its failure, because no response is left to carry it."
    )


async def test_a_failing_summariser_leaves_the_article_failed_and_intact(
    app: FastAPI, client: LifespanClient, post_article: PostArticle
) -> None:
    """The trigger still answers 202: the failure happens after the response, in the task."""
    article = await post_article(content=CONTENT)
    failing = AsyncMock(side_effect=RuntimeError("model unavailable"))

    with override_dependencies(app, {get_summarizer: lambda: failing}):
        response = await client.post(f"/api/articles/{article['id']}/process")

    assert response.status_code == 202, response.text
    failed = (await client.get(f"/api/articles/{article['id']}")).json()
    assert failed == article | {"status": "failed", "error": "RuntimeError: model unavailable"}


async def test_processing_an_unknown_article_is_404(client: LifespanClient) -> None:
    response = await client.post("/api/articles/999/process")

    assert response.status_code == 404, response.text
    assert response.json() == {"detail": "Article 999 not found"}


async def test_a_trigger_while_the_article_is_processing_is_409(
    client: LifespanClient, post_article: PostArticle, gated: GatedSummarizer
) -> None:
    article = await post_article()
    url = f"/api/articles/{article['id']}/process"
    first = asyncio.create_task(client.post(url))
    await gated.wait_started()  # the first task is running, held at the gate

    second = await client.post(url)
    status_meanwhile = (await client.get(f"/api/articles/{article['id']}")).json()["status"]
    gated.gate.set()
    async with asyncio.timeout(GATE_TIMEOUT):
        first_response = await first

    assert second.status_code == 409, second.text
    assert second.json() == {"detail": f"Article {article['id']} is already processing"}
    assert status_meanwhile == "processing"
    assert first_response.status_code == 202, first_response.text
    assert gated.calls == [article["content"]]  # the 409 queued nothing
    assert (await client.get(f"/api/articles/{article['id']}")).json()["status"] == "processed"


@pytest.mark.parametrize("first_outcome", ["processed", "failed"])
async def test_reprocessing_replaces_the_result(
    app: FastAPI, client: LifespanClient, post_article: PostArticle, first_outcome: str
) -> None:
    article = await post_article()
    url = f"/api/articles/{article['id']}"
    first = AsyncMock(return_value="First summary") if first_outcome == "processed" else AsyncMock(side_effect=OSError)
    with override_dependencies(app, {get_summarizer: lambda: first}):
        await client.post(f"{url}/process")
    assert (await client.get(url)).json()["status"] == first_outcome

    with override_dependencies(app, {get_summarizer: lambda: AsyncMock(return_value="Second summary")}):
        response = await client.post(f"{url}/process")

    assert response.status_code == 202, response.text
    assert (await client.get(url)).json() == article | {"status": "processed", "summary": "Second summary"}
