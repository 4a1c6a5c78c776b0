"""Queue mode on Redis: `python -m processing.worker` processes, for real, and killed.

Each needs a Redis server and worker processes of its own, so each is real_only. The API runs
in the test (its lifespan and routes, in-process); the workers are separate processes, as
deployed, sharing the test's database.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from fastapi_testkit import eventually, lifespan_client
from fastapi_testkit.faults import kill_redis_clients
from fastapi_testkit.process import served_module
from processing.app import create_app
from processing.settings import Settings
from processing.storage import create_tables
from processing.worker import WORKER_CLIENT_NAME
from service_runtime.sql import create_engine

from .helpers import create_article, summary_calls, wait_for_status

pytestmark = [
    pytest.mark.background,
    pytest.mark.slow,
    pytest.mark.real_only(reason="workers are separate processes that share a Redis stream"),
    # Worker processes start here (each imports the service: seconds on a busy machine): a hang
    # guard, not a budget. Each wait inside has its own deadline.
    pytest.mark.timeout(180),
]

SERVICE = Path(__file__).parents[1]
# Scaled down: a job of a dead worker is delivered again after 2 s, looked for every 0.5 s.
SCALED = {"summary_timeout": 1.5, "max_attempts": 1, "redelivery_delay": 2, "reclaim_interval": 0.5}
# How long a worker process may take to say it is ready, and a job to be done once accepted: a
# process starting on a machine whose cores are busy with other work takes several times its
# usual second or two.
STARTED_WITHIN, DONE_WITHIN = 60.0, 30.0


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    """One line per summariser call, in any process (helpers.slow_shout)."""
    return tmp_path / "calls.txt"


@pytest.fixture
def worker_env(database_url: str, redis_url: str, calls: Path) -> dict[str, str]:
    return (
        {k: v for k, v in os.environ.items() if not k.startswith("PROCESSING_")}
        | {
            "PYTHONPATH": str(SERVICE),
            "PROCESSING_MODE": "queue",
            "PROCESSING_DATABASE_URL": database_url,
            "PROCESSING_REDIS_URL": redis_url,
            "PROCESSING_SUMMARIZER": "tests.helpers:slow_shout",
            "SUMMARY_CALLS": str(calls),
            "PROCESSING_LEASE": "60",  # the API's recovery stays out of it: the broker redelivers
        }
        | {f"PROCESSING_{k.upper()}": str(v) for k, v in SCALED.items()}
    )


@contextmanager
def worker(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m processing.worker` until it says it is ready; stopped (SIGTERM) on exit."""
    with workers(env, [log]) as [process]:
        yield process


@contextmanager
def workers(env: dict[str, str], logs: list[Path]) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One worker process per log, all started at once, until each says it is ready; stopped on exit."""
    with ExitStack() as stack:
        processes = [stack.enter_context(_started(env, log)) for log in logs]
        for process, log in zip(processes, logs, strict=True):
            _wait_for_line(process, log, "worker ready")
        yield processes


@contextmanager
def _started(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with (
        log.open("ab") as out,
        subprocess.Popen(
            [sys.executable, "-m", "processing.worker"], env=env, stdout=out, stderr=subprocess.STDOUT
        ) as process,
    ):
        try:
            yield process
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_line(process: subprocess.Popen[bytes], log: Path, line: str) -> None:
    deadline = time.monotonic() + STARTED_WITHIN
    while line not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"no {line!r} in {STARTED_WITHIN:g} s:\n{log.read_text()}"
        time.sleep(0.05)


async def accept(client: httpx.AsyncClient, count: int, content: str = "Article {n}.") -> list[int]:
    ids = []
    for n in range(count):
        article = await create_article(client, content=content.format(n=n))
        response = await client.post(f"/api/articles/{article['id']}/process")
        assert response.status_code == 202, response.text
        ids.append(article["id"])
    return ids


def queue_settings(settings: Settings, redis_url: str) -> Settings:
    return settings.model_copy(update={"mode": "queue", "redis_url": redis_url, "lease": 60} | SCALED)


async def test_a_worker_process_processes_what_the_api_accepted(
    settings: Settings, redis_url: str, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """Worked example 4: the API enqueues on Redis, a real worker process does the job."""
    with worker(worker_env | {"SLOW_SUMMARY_SECONDS": "0"}, tmp_path / "worker.log"):
        async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
            [article_id] = await accept(client, 1, "Queued on Redis.")
            processed = await wait_for_status(client, article_id, "processed", timeout=DONE_WITHIN)

    assert processed["summary"] == "QUEUED ON REDIS."


async def test_a_worker_goes_on_when_redis_loses_its_data(
    settings: Settings, redis_url: str, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """Redis restarted without persistence (here: FLUSHDB on the test's database) has lost the
    stream and its consumer group, under a worker blocked reading it: Redis ends that read with
    UNBLOCKED, the next with NOGROUP. The worker declares the group again and goes on, with the
    listener it started with (test_queue.py shows the same on fakeredis, which has no UNBLOCKED)."""
    log = tmp_path / "worker.log"
    with worker(worker_env | {"SLOW_SUMMARY_SECONDS": "0"}, log):
        async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
            [before] = await accept(client, 1, "Before the flush.")
            await wait_for_status(client, before, "processed", timeout=DONE_WITHIN)
            async with Redis.from_url(redis_url) as redis:
                await redis.flushdb()
            [after] = await accept(client, 1, "After the flush.")
            processed = await wait_for_status(client, after, "processed", timeout=DONE_WITHIN)

    assert processed["summary"] == "AFTER THE FLUSH."
    assert "creating it again" in log.read_text()
    assert log.read_text().count("Listening started") == 1, log.read_text()


async def test_a_worker_whose_redis_connections_are_killed_goes_on(
    settings: Settings, redis_url: str, worker_env: dict[str, str], tmp_path: Path
) -> None:
    """A worker's connections carry its name (CLIENT SETNAME `processing-worker`), so an operator
    (CLIENT LIST) and this test find them; killed on the server, as a restart or an idle timeout
    would, the worker reads again on a new one."""
    log = tmp_path / "worker.log"
    with worker(worker_env | {"SLOW_SUMMARY_SECONDS": "0"}, log):
        async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
            killed = await kill_redis_clients(redis_url, WORKER_CLIENT_NAME)
            [article_id] = await accept(client, 1, "After the kill.")
            processed = await wait_for_status(client, article_id, "processed", timeout=DONE_WITHIN)

    assert killed >= 1, "no connection named processing-worker"
    assert processed["summary"] == "AFTER THE KILL."
    assert log.read_text().count("Listening started") == 1, log.read_text()


async def test_a_worker_killed_mid_job_loses_nothing(
    settings: Settings, redis_url: str, worker_env: dict[str, str], calls: Path, tmp_path: Path
) -> None:
    """Three jobs running, their worker SIGKILLed: another worker gets them after the
    redelivery delay, and each article ends `processed` once."""
    log = tmp_path / "worker.log"
    async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
        with worker(worker_env, log) as first:
            ids = await accept(client, 3)

            async def all_started() -> bool:
                return len(summary_calls(calls)) == 3

            await eventually(all_started, timeout=DONE_WITHIN, message="the jobs never started")
            first.send_signal(signal.SIGKILL)
        assert [(await client.get(f"/api/articles/{i}")).json()["status"] for i in ids] == ["processing"] * 3

        # A log of its own: in the first one, "worker ready" is there already, and the wait for it
        # would end before this worker had started.
        with worker(worker_env, tmp_path / "second.log"):
            finished = [await wait_for_status(client, i, "processed", timeout=DONE_WITHIN) for i in ids]

    assert [a["summary"] for a in finished] == ["ARTICLE 0.", "ARTICLE 1.", "ARTICLE 2."]
    assert len(summary_calls(calls)) == 6  # each job twice: once killed, once to the end


async def test_a_worker_sigtermed_mid_job_records_it_cancelled_and_exits(
    settings: Settings, redis_url: str, worker_env: dict[str, str], calls: Path, tmp_path: Path
) -> None:
    """SIGTERM, as a deploy or `docker stop` sends: the worker cancels its running jobs, each
    recorded `failed` ("cancelled", which the client sees and may trigger again) rather than
    left `processing` until its lease is over, and exits 0."""
    async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
        # The job outlasts the test unless stopped; its timeout and the redelivery delay longer still.
        held = {"SLOW_SUMMARY_SECONDS": "60", "PROCESSING_SUMMARY_TIMEOUT": "30", "PROCESSING_REDELIVERY_DELAY": "40"}
        with worker(worker_env | held, tmp_path / "worker.log") as running:
            [article_id] = await accept(client, 1, "Stopped mid-job.")

            async def started() -> bool:
                return summary_calls(calls) == ["Stopped mid-job."]

            await eventually(started, timeout=10, message="the job never started")
            running.send_signal(signal.SIGTERM)
            assert running.wait(timeout=10) == 0, (tmp_path / "worker.log").read_text()
        stopped = (await client.get(f"/api/articles/{article_id}")).json()

    assert (stopped["status"], stopped["error"]) == ("failed", "CancelledError: processing was cancelled")


async def test_the_api_process_killed_after_accepting_loses_nothing(
    settings: Settings, redis_url: str, worker_env: dict[str, str], calls: Path, tmp_path: Path
) -> None:
    """SIGKILL the API (`python -m processing`) once it has answered 202 five times: the jobs are
    in the Redis stream, not in the dead process, so a worker started afterwards does each once."""
    env = worker_env | {"SLOW_SUMMARY_SECONDS": "0"}
    with served_module("processing", tmp_path, env=env) as api:
        async with httpx.AsyncClient(base_url=api.url, timeout=10) as http:
            ids = await accept(http, 5)
        api.process.send_signal(signal.SIGKILL)
        api.process.wait(timeout=10)

    async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
        with worker(env, tmp_path / "worker.log"):
            finished = [await wait_for_status(client, i, "processed", timeout=DONE_WITHIN) for i in ids]

    assert [a["summary"] for a in finished] == [f"ARTICLE {n}." for n in range(5)]
    assert sorted(summary_calls(calls)) == sorted(f"Article {n}." for n in range(5))


async def test_two_workers_share_200_articles_and_lose_none(
    settings: Settings, redis_url: str, worker_env: dict[str, str], calls: Path, tmp_path: Path
) -> None:
    env = worker_env | {"SLOW_SUMMARY_SECONDS": "0.01"}
    async with lifespan_client(create_app(queue_settings(settings, redis_url))) as client:
        with workers(env, [tmp_path / f"worker{n}.log" for n in range(2)]):
            ids = await accept(client, 200)

            async def all_processed() -> bool:
                counts = (await client.get("/api/stats")).json()
                assert counts["processed"] == 200, counts
                return True

            await eventually(all_processed, timeout=60, message="not every article was processed")

    assert len(ids) == 200
    assert sorted(summary_calls(calls)) == sorted(f"Article {n}." for n in range(200))


@pytest.mark.real_only(reason="the race is PostgreSQL's: CREATE TABLE from processes starting at once")
async def test_processes_starting_together_create_the_schema_once(database_url: str) -> None:
    """The API and its workers all create the tables at startup; that raced into a failed start."""
    engines = [create_engine(database_url) for _ in range(4)]
    try:
        await asyncio.gather(*(create_tables(engine) for engine in engines))
    finally:
        for engine in engines:
            await engine.dispose()
