"""Wait, with a deadline, until an asynchronous side effect is visible."""

import time
from collections.abc import Awaitable, Callable

import anyio


# ASYNC109 prefers callers wrapping a call in a cancel scope; here the deadline is the helper's
# whole job, and it must end in an AssertionError that says what failed, not a cancellation.
async def eventually(
    condition: Callable[[], Awaitable[object]],
    *,
    timeout: float = 5.0,  # noqa: ASYNC109
    interval: float = 0.01,
    message: str = "",
) -> None:
    """Call `condition` until it returns a true value without raising `AssertionError`.

    The condition may return a bool or assert inside; either way the last outcome is reported
    when `timeout` seconds pass, so the failure says what was still wrong, not only that time
    ran out.
    """
    deadline = time.monotonic() + timeout
    attempts = 0
    while True:
        attempts += 1
        last: str
        try:
            if await condition():
                return
            last = "the condition returned a false value"
        except AssertionError as error:
            last = f"AssertionError: {error}"
        if time.monotonic() >= deadline:
            prefix = f"{message}: " if message else ""
            raise AssertionError(
                f"{prefix}condition still failing after {timeout}s ({attempts} attempts); last: {last}"
            )
        await anyio.sleep(interval)
