"""The article's claim "background tasks run inline during TestClient calls", shown.

Starlette runs a response's background tasks after the body is sent but inside the same ASGI
call, and both in-process clients return only when that call has returned: under TestClient
(as under httpx's ASGITransport) the task has finished when the trigger's response arrives.
Over a real socket it has not (test_live_server.py waits for it).
"""

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from fastapi_testkit import LifespanClient, override_dependencies
from processing.dependencies import get_summarizer

from .helpers import create_article

pytestmark = pytest.mark.background


class RecordingSummarizer:
    """Records each call and the thread it ran on; returns at once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.threads: list[threading.Thread] = []

    async def __call__(self, content: str) -> str:
        self.calls.append(content)
        self.threads.append(threading.current_thread())
        return "Recorded."


@pytest.fixture
def recording(app: FastAPI) -> Iterator[RecordingSummarizer]:
    summarizer = RecordingSummarizer()
    with override_dependencies(app, {get_summarizer: lambda: summarizer}):
        yield summarizer


def test_background_tasks_run_inline_under_testclient(app: FastAPI, recording: RecordingSummarizer) -> None:
    with TestClient(app) as client:
        created = client.post("/api/articles/", json={"title": "T", "content": "Inline."})
        assert created.status_code == 201, created.text
        triggered = client.post(f"/api/articles/{created.json()['id']}/process")
        ran_before_the_response_returned = list(recording.calls)
        article = client.get(f"/api/articles/{created.json()['id']}").json()

    assert triggered.status_code == 202, triggered.text
    assert ran_before_the_response_returned == ["Inline."]
    assert (article["status"], article["summary"]) == ("processed", "Recorded.")
    # Inline in the call, not in the test's thread: TestClient runs the app on its portal's loop.
    assert recording.threads[0] is not threading.current_thread()


async def test_background_tasks_run_inline_under_the_async_client(
    client: LifespanClient, recording: RecordingSummarizer
) -> None:
    created = await create_article(client, content="Inline.")
    triggered = await client.post(f"/api/articles/{created['id']}/process")
    ran_before_the_response_returned = list(recording.calls)

    assert triggered.status_code == 202, triggered.text
    assert ran_before_the_response_returned == ["Inline."]
    # Here on the test's own loop and thread: ASGITransport calls the app in this task.
    assert recording.threads[0] is threading.current_thread()
