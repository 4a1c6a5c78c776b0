"""Nothing accepted is lost: a claim whose process died is recovered from the database.

In-process first (a claim left as a dead process leaves it), then the crash itself: the API
process SIGKILLed mid-job and started again on the same database. Queue workers on Redis are
in test_workers.py.
"""

import os
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import httpx
import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from taskiq import BrokerMessage, InMemoryBroker

from fastapi_testkit import eventually, lifespan_client
from fastapi_testkit.process import served_module
from processing import storage
from processing.app import create_app
from processing.models import Article, Status
from processing.settings import Settings

from .helpers import create_article, shout, summary_calls, wait_for_status

pytestmark = pytest.mark.background

SERVICE = Path(__file__).parents[1]


@pytest.mark.parametrize("mode", ["background", "queue"])
async def test_a_claim_older_than_the_lease_is_processed_at_startup(
    settings: Settings, mode: Literal["background", "queue"]
) -> None:
    scaled = settings.model_copy(update={"mode": mode, "summarizer": shout, "lease": 1, "summary_timeout": 0.2})
    async with lifespan_client(create_app(scaled)) as client:
        stale = await create_article(client, content="Left behind.")
        fresh = await create_article(client, content="Still running.")
    # What a process killed mid-job leaves: `processing`, the claim of its start.
    async with lifespan_client(create_app(scaled)) as client, client.state["sessionmaker"]() as session:
        for article_id, age in ((stale["id"], 5), (fresh["id"], 0)):
            await session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(status=Status.PROCESSING, claimed_at=datetime.now(UTC) - timedelta(seconds=age))
            )
        await session.commit()
    async with lifespan_client(create_app(scaled)) as client:
        recovered = await wait_for_status(client, stale["id"], "processed")
        running = (await client.get(f"/api/articles/{fresh['id']}")).json()

    assert recovered["summary"] == "LEFT BEHIND."
    assert running["status"] == "processing"  # within its lease: a live job is not run twice


async def test_an_expired_claim_is_recovered_periodically_not_only_at_startup(settings: Settings) -> None:
    scaled = settings.model_copy(
        update={"summarizer": shout, "lease": 0.5, "summary_timeout": 0.1, "recovery_interval": 0.1, "max_attempts": 1}
    )
    async with lifespan_client(create_app(scaled)) as client:
        article = await create_article(client, content="Claimed, then lost.")
        async with client.state["sessionmaker"]() as session:
            await session.execute(
                update(Article)
                .where(Article.id == article["id"])
                .values(status=Status.PROCESSING, claimed_at=datetime.now(UTC))
            )
            await session.commit()

        recovered = await wait_for_status(client, article["id"], "processed")

    assert recovered["summary"] == "CLAIMED, THEN LOST."


async def test_a_trigger_whose_send_to_the_queue_fails_is_accepted_and_recovered(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis gone at the moment of the send: the claim is already committed (the outbox), so
    the answer is the 202, not a 500, and recovery enqueues the job once the lease is over."""
    scaled = settings.model_copy(
        update={
            "mode": "queue",
            "summarizer": shout,
            "lease": 0.5,
            "summary_timeout": 0.1,
            "recovery_interval": 0.1,
            "max_attempts": 1,
        }
    )
    sends = 0
    kick = InMemoryBroker.kick

    async def first_send_fails(self: InMemoryBroker, message: BrokerMessage) -> None:
        nonlocal sends
        sends += 1
        if sends == 1:
            raise RedisConnectionError("Connection refused")
        await kick(self, message)

    monkeypatch.setattr(InMemoryBroker, "kick", first_send_fails)
    async with lifespan_client(create_app(scaled)) as client:
        article = await create_article(client, content="Sent while Redis was down.")
        r = await client.post(f"/api/articles/{article['id']}/process")
        assert r.status_code == 202, r.text
        recovered = await wait_for_status(client, article["id"], "processed")

    assert recovered["summary"] == "SENT WHILE REDIS WAS DOWN."
    assert sends == 2


@pytest.mark.parametrize("failing", ["database", "queue"])
async def test_recovery_goes_on_after_a_pass_that_failed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, failing: Literal["database", "queue"]
) -> None:
    """One pass raising (the database unreachable at startup, or the queue refusing the send)
    is logged, and the next passes still run: an expired claim is recovered afterwards."""
    scaled = settings.model_copy(
        update={
            "mode": "queue" if failing == "queue" else "background",
            "summarizer": shout,
            "lease": 0.5,
            "summary_timeout": 0.1,
            "recovery_interval": 0.1,
            "max_attempts": 1,
        }
    )
    failures = 0
    if failing == "database":
        reclaim = storage.reclaim_expired

        async def fails_once(session: AsyncSession, lease: float) -> list[int]:
            nonlocal failures
            if failures == 0:
                failures += 1
                raise OSError("the database is unreachable")
            return await reclaim(session, lease)

        monkeypatch.setattr(storage, "reclaim_expired", fails_once)
    else:
        kick = InMemoryBroker.kick

        async def first_send_fails(self: InMemoryBroker, message: BrokerMessage) -> None:
            nonlocal failures
            if failures == 0:
                failures += 1
                raise RedisConnectionError("Connection refused")
            await kick(self, message)

        monkeypatch.setattr(InMemoryBroker, "kick", first_send_fails)
    async with lifespan_client(create_app(scaled)) as client:
        article = await create_article(client, content="Claimed, then lost.")
        async with client.state["sessionmaker"]() as session:
            await session.execute(
                update(Article)
                .where(Article.id == article["id"])
                .values(status=Status.PROCESSING, claimed_at=datetime.now(UTC) - timedelta(seconds=5))
            )
            await session.commit()

        recovered = await wait_for_status(client, article["id"], "processed")

    assert recovered["summary"] == "CLAIMED, THEN LOST."
    assert failures == 1


@pytest.mark.slow
async def test_background_mode_api_killed_mid_job_loses_nothing(database_url: str, tmp_path: Path) -> None:
    """Five articles accepted, the server SIGKILLed while their jobs run, started again on the
    same database: every one ends `processed`, each summarised by one finished run."""
    calls = tmp_path / "calls.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROCESSING_")} | {
        "PYTHONPATH": str(SERVICE),
        "PROCESSING_DATABASE_URL": database_url,
        "PROCESSING_SUMMARIZER": "tests.helpers:slow_shout",
        "SLOW_SUMMARY_SECONDS": "1",
        "SUMMARY_CALLS": str(calls),
        "PROCESSING_SUMMARY_TIMEOUT": "1.5",
        "PROCESSING_MAX_ATTEMPTS": "1",
        "PROCESSING_LEASE": "2",
        "PROCESSING_RECOVERY_INTERVAL": "0.5",
    }
    with served_module("processing", tmp_path, env=env) as first:
        async with httpx.AsyncClient(base_url=first.url, timeout=5) as http:
            ids = [(await create_article(http, content=f"Article {n}."))["id"] for n in range(5)]
            for article_id in ids:
                response = await http.post(f"/api/articles/{article_id}/process")
                assert response.status_code == 202, response.text

            async def all_started() -> bool:
                return len(summary_calls(calls)) == 5

            await eventually(all_started, timeout=10, message="the five jobs never started")
            first.process.send_signal(signal.SIGKILL)
            first.process.wait(timeout=10)
            # Killed mid-job: all five still `processing` (nothing could record otherwise).

    with served_module("processing", tmp_path, env=env) as second:
        async with httpx.AsyncClient(base_url=second.url, timeout=5) as http:
            finished = [await wait_for_status(http, article_id, "processed") for article_id in ids]

    assert [a["summary"] for a in finished] == [f"ARTICLE {n}." for n in range(5)]
    assert sorted(summary_calls(calls)) == sorted([f"Article {n}." for n in range(5)] * 2)
