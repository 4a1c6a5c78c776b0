"""What more than one test module of the processing suite needs: a gated summariser, creating and waiting."""

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from fastapi_testkit import eventually

# How long a gated summariser waits for its test before giving up: a test that forgets to open
# the gate fails (the article ends `failed`) instead of hanging.
GATE_TIMEOUT = 10


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


async def shout(content: str) -> str:
    """A summariser that is not the default, importable by path (`tests.helpers:shout`)."""
    return content.upper()


async def slow_shout(content: str) -> str:
    """`shout`, after SLOW_SUMMARY_SECONDS (default 1): long enough to kill a process mid-job.

    Each call appends a line to the file SUMMARY_CALLS names, if set, so a test can count runs
    across processes.
    """
    if calls := os.environ.get("SUMMARY_CALLS"):
        with open(calls, "a") as log:  # noqa: ASYNC230 (one short line; a test helper)
            log.write(content + "\n")
    await asyncio.sleep(float(os.environ.get("SLOW_SUMMARY_SECONDS", "1")))
    return content.upper()


def summary_calls(path: Path) -> list[str]:
    """The content of every `slow_shout` call logged to `path` so far (SUMMARY_CALLS)."""
    return path.read_text().splitlines() if path.is_file() else []


PostArticle = Callable[..., Awaitable[dict[str, Any]]]


async def create_article(http: httpx.AsyncClient, **fields: str) -> dict[str, Any]:
    """Create an article through the API and return its JSON."""
    body = {"title": "A title", "content": "Some content to summarise. It has two sentences."} | fields
    response = await http.post("/api/articles/", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def wait_for_status(
    http: httpx.AsyncClient,
    article_id: int,
    status: str,
    timeout: float = 10,  # noqa: ASYNC109 (a deadline for the condition, as eventually's)
) -> dict[str, Any]:
    """Poll the article until its status is `status` and return it; fail after `timeout` seconds.

    For clients whose responses arrive before the background task has finished (a live
    server): `eventually` waits with a deadline, where a fixed sleep would be flaky or slow.
    """
    article: dict[str, Any] = {}

    async def reached() -> bool:
        nonlocal article
        article = (await http.get(f"/api/articles/{article_id}")).json()
        assert article["status"] == status, article
        return True

    await eventually(reached, timeout=timeout, message=f"article {article_id} never became {status}")
    return article
