"""The summariser: extractive, local and deterministic, so tests need no network and no model.

It stands in for the article's `generate_ai_summary`. Any `async def (content: str) -> str` can
replace it (the `PROCESSING_SUMMARIZER` setting); the task only awaits it.
"""

import re
from collections import Counter
from collections.abc import Awaitable, Callable

import anyio

Summarizer = Callable[[str], Awaitable[str]]


class TransientError(Exception):
    """What a summariser raises for a failure worth retrying: a model overloaded, a rate limit.

    The task retries it (and timeouts, and connection errors) with back-off; any other error
    would fail again, so it ends the job at once (tasks.py).
    """


MAX_SENTENCES = 2
MAX_CHARACTERS = 500

# A sentence ends at . ! or ? followed by white space; good enough for an extractive summary.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# Words too common to say what a text is about.
_COMMON = (
    "a an and are as at be but by for from has have in is it its of on or that the this to was were "
    "will with which who what when where how not no so if then than there their they we you he she "
    "i me my our your his her them these those been being do does did can could would should"
)
_STOPWORDS = frozenset(_COMMON.split())


async def generate_ai_summary(content: str) -> str:
    """The `MAX_SENTENCES` sentences whose words occur most often in `content`, in their order.

    Scoring is plain Python over text of up to the content limit (100,000 characters by
    default), a few milliseconds of CPU: it runs in a worker thread so that it never blocks
    the event loop that serves requests.
    """
    return await anyio.to_thread.run_sync(summarize_text, content)


def summarize_text(content: str, *, sentences: int = MAX_SENTENCES, limit: int = MAX_CHARACTERS) -> str:
    """The synchronous core of `generate_ai_summary`."""
    candidates = [s.strip() for s in _SENTENCE_END.split(content.strip()) if s.strip()]
    frequencies = Counter(w for s in candidates for w in _words(s))

    def score(index: int) -> tuple[float, int]:
        words = _words(candidates[index])
        # Mean frequency, so long sentences do not win by length alone; ties go to the earlier one.
        mean = sum(frequencies[w] for w in words) / len(words) if words else 0.0
        return (-mean, index)

    chosen = sorted(sorted(range(len(candidates)), key=score)[:sentences])
    return _shorten(" ".join(candidates[i] for i in chosen), limit)


def _words(sentence: str) -> list[str]:
    return [w for w in (m.lower() for m in _WORD.findall(sentence)) if w not in _STOPWORDS]


def _shorten(text: str, limit: int) -> str:
    """`text`, cut at a word boundary to at most `limit` characters, with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0] if " " in text[: limit - 1] else text[: limit - 1]
    return cut.rstrip() + "…"
