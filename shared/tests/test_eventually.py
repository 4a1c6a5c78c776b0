"""eventually: wait for a condition with a deadline, and say what was still wrong."""

import time

import pytest

from fastapi_testkit import eventually


async def test_returns_as_soon_as_the_condition_holds() -> None:
    calls = 0

    async def third_time_lucky() -> bool:
        nonlocal calls
        calls += 1
        return calls == 3

    await eventually(third_time_lucky, interval=0)

    assert calls == 3


async def test_an_assertion_inside_the_condition_counts_as_not_yet() -> None:
    values = iter([1, 2, 3])

    async def reaches_three() -> bool:
        assert next(values) == 3
        return True

    await eventually(reaches_three, interval=0)


async def test_fails_after_the_deadline_with_the_last_assertion() -> None:
    async def never() -> None:
        rows = [1]
        assert len(rows) == 2, "still one"

    start = time.monotonic()
    with pytest.raises(AssertionError, match=r"rows: condition still failing after 0.05s .* still one"):
        await eventually(never, timeout=0.05, message="rows")

    assert time.monotonic() - start < 1


async def test_a_false_result_is_reported_as_such() -> None:
    async def false() -> bool:
        return False

    with pytest.raises(AssertionError, match="returned a false value"):
        await eventually(false, timeout=0.02)


async def test_other_exceptions_propagate_at_once() -> None:
    async def broken() -> bool:
        raise ValueError("bug in the condition")

    with pytest.raises(ValueError, match="bug in the condition"):
        await eventually(broken, timeout=5)
