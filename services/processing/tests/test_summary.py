"""The summariser, and swapping it for another one."""

import math

import pytest
from pydantic import ValidationError

from fastapi_testkit import lifespan_client
from processing import summary
from processing.app import create_app
from processing.settings import Settings
from processing.summary import MAX_CHARACTERS, generate_ai_summary, summarize_text

pytestmark = pytest.mark.background

TEXT = (
    "Async tests need an event loop. "
    "Lunch was soup. "
    "pytest-asyncio gives async tests an event loop per test. "
    "The sky was grey."
)


async def test_the_summary_is_the_most_representative_sentences_in_their_order() -> None:
    assert await generate_ai_summary(TEXT) == (
        "Async tests need an event loop. pytest-asyncio gives async tests an event loop per test."
    )


async def test_the_same_content_always_gives_the_same_summary() -> None:
    assert {await generate_ai_summary(TEXT) for _ in range(3)} == {summarize_text(TEXT)}


@pytest.mark.parametrize("content", ["One sentence only.", "First. Second!"])
def test_short_content_is_its_own_summary(content: str) -> None:
    assert summarize_text(content) == content


def test_a_long_sentence_is_cut_at_a_word_with_an_ellipsis() -> None:
    content = "word " * 500

    result = summarize_text(content)

    assert len(result) <= MAX_CHARACTERS
    assert result.endswith("word…")


def test_a_long_word_is_cut_too() -> None:
    assert summarize_text("x" * 1000) == "x" * (MAX_CHARACTERS - 1) + "…"


def test_blank_content_has_an_empty_summary() -> None:
    assert summarize_text(" \n ") == ""


def test_the_summariser_is_set_by_import_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """How a deployment swaps in another summariser (say, a real model) without code changes."""
    monkeypatch.setenv("PROCESSING_SUMMARIZER", "processing.summary:generate_ai_summary")

    assert Settings().summarizer is summary.generate_ai_summary


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param("no_such_module.summarize", "No module named", id="unknown-module"),
        pytest.param("math.cos", "must be an async callable", id="not-async"),
        pytest.param(math.cos, "must be an async callable", id="not-async-object"),
    ],
)
def test_settings_refuse_a_summariser_that_cannot_be_awaited(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(summarizer=value)


async def test_a_swapped_summariser_is_used_end_to_end(settings: Settings) -> None:
    async def shout(content: str) -> str:
        return content.upper()

    app = create_app(settings.model_copy(update={"summarizer": shout}))
    async with lifespan_client(app) as client:
        created = (await client.post("/api/articles/", json={"title": "T", "content": "quiet."})).json()
        await client.post(f"/api/articles/{created['id']}/process")
        processed = (await client.get(f"/api/articles/{created['id']}")).json()

    assert processed["summary"] == "QUIET."
