"""Steps with deadlines, a line per check, and the summary."""

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TextIO

import httpx


@dataclass(frozen=True)
class Target:
    """What every check needs: the gateway, a token, a name unique to this run, and the deadline."""

    http: httpx.AsyncClient  # base_url is the gateway
    ws_url: str  # the gateway as ws:// or wss://
    token: str
    user: str  # the token's subject
    run_id: str  # in every name this run creates, so runs never meet
    timeout: float  # seconds, for each step

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


@dataclass(frozen=True)
class Outcome:
    service: str
    check: str
    passed: bool
    seconds: float
    detail: str = ""


class StepFailedError(Exception):
    """A step failed (already recorded): the service's later steps depend on it, so they do not run."""


@dataclass
class Report:
    out: TextIO
    outcomes: list[Outcome] = field(default_factory=list)
    left_behind: list[str] = field(default_factory=list)  # what the system offers no way to delete

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        mark = "PASS" if outcome.passed else "FAIL"
        detail = f": {outcome.detail}" if outcome.detail else ""
        print(f"{mark} {outcome.service}: {outcome.check} ({outcome.seconds:.2f}s){detail}", file=self.out, flush=True)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]

    def summary(self) -> int:
        """Print 'N passed, N failed' alone on a line, then what failed by service; the exit code."""
        failed = self.failed
        for item in self.left_behind:
            print(f"left behind (no API deletes it): {item}", file=self.out)
        print(f"{len(self.outcomes) - len(failed)} passed, {len(failed)} failed", file=self.out)
        if not failed:
            return 0
        by_service: dict[str, list[str]] = {}
        for outcome in failed:
            by_service.setdefault(outcome.service, []).append(outcome.check)
        named = "; ".join(f"{service} ({', '.join(checks)})" for service, checks in by_service.items())
        print(f"smoke FAILED: {named}", file=self.out, flush=True)
        return 1


def describe(error: BaseException, timeout: float) -> str:
    if isinstance(error, TimeoutError):
        return f"no answer within the {timeout:g}s deadline"
    if isinstance(error, AssertionError):
        return str(error) or "assertion failed"
    return f"{type(error).__name__}: {error}"


@dataclass
class Steps:
    """`async with steps("create"):` runs one check of one service under the deadline and records it."""

    report: Report
    service: str
    timeout: float

    @asynccontextmanager
    async def __call__(self, check: str) -> AsyncIterator[None]:
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.timeout):
                yield
        # Whatever goes wrong in a step is that step's failure, reported by name; the run goes on
        # to the other services, so one report names everything that is broken.
        except Exception as error:
            self.report.record(
                Outcome(self.service, check, False, time.monotonic() - started, describe(error, self.timeout))
            )
            raise StepFailedError(check) from error
        self.report.record(Outcome(self.service, check, True, time.monotonic() - started))


Flow = Callable[[Target, Steps], Awaitable[None]]


async def run_flow(service: str, flow: Flow, target: Target, report: Report) -> None:
    # A failed step is recorded already; the rest of this service's flow needed it.
    with suppress(StepFailedError):
        await flow(target, Steps(report, service, target.timeout))


def expect(response: httpx.Response, status: int) -> None:
    """The status, or an AssertionError carrying the body."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: HTTP {response.status_code}, "
        f"expected {status}: {response.text[:200]}"
    )
