"""How the stream helpers fail when nothing arrives in time: one exception, one message shape.

The SSE helpers (`fastapi_testkit.sse`) and the WebSocket helpers (`fastapi_testkit.websocket`)
both raise `ReceiveTimeout` with `no <event|message> within <N>s from <what>; received: [...]`.
It is a `TimeoutError`, as a timed-out receive is everywhere in asyncio and httpx-ws, and an
`AssertionError`, as a failed expectation is in pytest: `pytest.raises` with either catches it,
so tests written against either helper's old exception keep working.
"""

from collections.abc import Sequence


class ReceiveTimeout(TimeoutError, AssertionError):  # noqa: N818 (named for what happened, like TimeoutError)
    """Nothing arrived within the deadline; the message says from where and what came before."""


def receive_timeout(unit: str, timeout: float, source: str, received: Sequence[object] | None) -> ReceiveTimeout:
    """`no {unit} within {timeout}s from {source}; received: {received}` (`received` None: not recorded)."""
    shown = "(not recorded)" if received is None else repr(list(received))
    return ReceiveTimeout(f"no {unit} within {timeout}s from {source}; received: {shown}")
