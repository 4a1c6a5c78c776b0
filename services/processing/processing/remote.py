"""A summariser behind an HTTP API (`PROCESSING_SUMMARIZER_URL`), beside the local one.

It sends `POST <url>` with `{"content": ..., "max_characters": ...}` and reads
`{"summary": "..."}` back. It never retries: the task's one retry policy (tasks.py: attempts,
back-off, the per-attempt deadline) already covers every error worth retrying, so it only
translates httpx's errors into the ones that policy knows:

| the API | raised | retried by the task |
|---|---|---|
| 5xx, 429 | `summary.TransientError` | yes |
| a timeout (connect, read, write, pool) | `TimeoutError` | yes |
| unreachable, connection reset | `ConnectionError` | yes |
| any other 4xx, a body without a string `summary` | `RemoteSummaryError` | no: it would fail the same way |

A client that retried too would multiply the attempts (3 x 3 = 9 calls to an overloaded API)
and stretch a job past the lease the settings compute from one policy.

An `httpx.AsyncClient` per call, not one owned by the lifespan: a job makes exactly one request,
and waits seconds for a model, so a pooled connection would save a handshake in thousands of
milliseconds. In exchange the summariser is a plain value in `Settings`, bound to no event loop:
the same object serves the API's loop, a queue worker's and every test's (a client created on
one loop and used on another fails: articles' tests/test_event_loops.py shows it for an engine).
"""

from typing import Any

import httpx

from processing.summary import MAX_CHARACTERS, TransientError

# An API that cannot even be connected to fails fast (and is retried); once connected, the
# task's own deadline (PROCESSING_SUMMARY_TIMEOUT) bounds the whole call, one deadline not two.
CONNECT_TIMEOUT = 5.0
USER_AGENT = "processing-service"


class RemoteSummaryError(Exception):
    """The API refused the request or answered nonsense: not worth retrying."""


class RemoteSummarizer:
    """`await RemoteSummarizer(url, token=...)(content)`: the summary the API at `url` returns."""

    def __init__(self, url: str, *, token: str | None = None) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"the summariser URL must be http(s)://host/...: {url!r}")
        self.url = url
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if token is not None:
            self._headers["Authorization"] = f"Bearer {token}"

    def __repr__(self) -> str:  # never the token
        return f"RemoteSummarizer({self.url!r})"

    async def __call__(self, content: str) -> str:
        body = {"content": content, "max_characters": MAX_CHARACTERS}
        timeout = httpx.Timeout(None, connect=CONNECT_TIMEOUT)
        try:
            async with httpx.AsyncClient(headers=self._headers, timeout=timeout) as client:
                response = await client.post(self.url, json=body)
        except httpx.TimeoutException as error:
            raise TimeoutError(f"summariser API: {type(error).__name__}") from error
        except httpx.TransportError as error:
            raise ConnectionError(f"summariser API unreachable: {type(error).__name__}: {error}") from error
        return _summary_of(response)


def _summary_of(response: httpx.Response) -> str:
    status = response.status_code
    if status >= 500 or status == 429:
        raise TransientError(f"summariser API answered {status}")
    if status != 200:
        raise RemoteSummaryError(f"summariser API answered {status}: {response.text[:200]}")
    try:
        payload: Any = response.json()
    except ValueError:
        raise RemoteSummaryError("summariser API answered with a body that is not JSON") from None
    summary = payload.get("summary") if isinstance(payload, dict) else None
    if not isinstance(summary, str):
        raise RemoteSummaryError('summariser API answered without a string "summary"')
    return summary
