"""Every documented PROCESSING_* variable is read from the environment by `create_app()`.

Each is set to a value that is not its default, and seen to take effect: in behaviour where a
request can show it, else in the settings the lifespan hands to requests. (ACCESS_LOG is read
by `python -m processing`: test_serve.py.)
"""

import os

import pytest

from fastapi_testkit import lifespan_client
from processing.app import create_app
from processing.redis_client import RedisUnavailableError
from processing.settings import Settings

from . import helpers

NOT_DEFAULTS = {
    "MODE": "queue",
    "MAX_ATTEMPTS": "5",
    "RETRY_DELAY": "0.25",
    "SUMMARY_TIMEOUT": "2",
    "LEASE": "120",
    "RECOVERY_INTERVAL": "7",
    "REDELIVERY_DELAY": "150",
    "RECLAIM_INTERVAL": "3",
    "MAX_TITLE_LENGTH": "5",
    "MAX_CONTENT_LENGTH": "40",
    "SUMMARIZER": "tests.helpers:shout",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, database_url: str) -> None:
    for name in [n for n in os.environ if n.startswith("PROCESSING_")]:
        monkeypatch.delenv(name)
    for name, value in NOT_DEFAULTS.items():
        monkeypatch.setenv(f"PROCESSING_{name}", value)
    monkeypatch.setenv("PROCESSING_DATABASE_URL", database_url)


@pytest.mark.usefixtures("environment")
async def test_create_app_reads_every_variable(database_url: str) -> None:
    defaults = Settings.model_construct()
    async with lifespan_client(create_app()) as client:
        settings: Settings = client.state["settings"]
        too_long = await client.post("/api/articles/", json={"title": "Sixty", "content": "x" * 41})
        created = await helpers.create_article(client, title="Fiver", content="Shout it.")
        await client.post(f"/api/articles/{created['id']}/process")
        processed = await helpers.wait_for_status(client, created["id"], "processed")
        broker = client.state["broker"]

    # MAX_CONTENT_LENGTH: 41 characters refused, naming the field; MAX_TITLE_LENGTH: 5 accepted.
    assert too_long.status_code == 422, too_long.text
    assert [e["loc"] for e in too_long.json()["detail"]] == [["body", "content"]]
    assert processed["summary"] == "SHOUT IT."  # SUMMARIZER
    assert broker is not None  # MODE: queue has a broker, background none
    # DATABASE_URL: another app on the test's database sees the article.
    async with lifespan_client(create_app(Settings(database_url=database_url))) as other:
        assert (await other.get(f"/api/articles/{created['id']}")).status_code == 200
    # The timings: as read, and none of them the default.
    read = {name: str(getattr(settings, name.lower())) for name in ("MAX_ATTEMPTS", "LEASE", "RECOVERY_INTERVAL")}
    assert read == {"MAX_ATTEMPTS": "5", "LEASE": "120.0", "RECOVERY_INTERVAL": "7.0"}
    assert (settings.retry_delay, settings.summary_timeout) == (0.25, 2)
    assert (settings.redelivery_delay, settings.reclaim_interval) == (150, 3)
    for name in NOT_DEFAULTS:
        assert getattr(settings, name.lower()) != getattr(defaults, name.lower()), name


@pytest.mark.usefixtures("environment")
async def test_the_summary_timeout_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCESSING_MODE", "background")
    monkeypatch.setenv("PROCESSING_SUMMARY_TIMEOUT", "0.1")
    monkeypatch.setenv("PROCESSING_MAX_ATTEMPTS", "1")
    monkeypatch.setenv("PROCESSING_SUMMARIZER", "tests.helpers:slow_shout")
    monkeypatch.setenv("SLOW_SUMMARY_SECONDS", "5")
    async with lifespan_client(create_app()) as client:
        created = await helpers.create_article(client, title="Slow", content="Too slow.")
        await client.post(f"/api/articles/{created['id']}/process")
        failed = (await client.get(f"/api/articles/{created['id']}")).json()

    assert (failed["status"], failed["error"]) == ("failed", "TimeoutError: no summary after 0.1 s")


@pytest.mark.usefixtures("environment")
async def test_the_redis_url_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redis that does not answer fails the startup, naming the URL the environment gave."""
    monkeypatch.setenv("PROCESSING_REDIS_URL", "redis://127.0.0.1:1/0")

    with pytest.raises(RedisUnavailableError, match=r"redis://127\.0\.0\.1:1/0"):
        async with lifespan_client(create_app()):
            pass


def test_leases_shorter_than_a_job_are_refused() -> None:
    with pytest.raises(ValueError, match="lease must be longer than one job can take"):
        Settings(summary_timeout=60, max_attempts=3, lease=100)
    with pytest.raises(ValueError, match="redelivery_delay must be longer"):
        Settings(summary_timeout=10, max_attempts=1, redelivery_delay=5)


def test_the_defaults_outlast_a_job_by_a_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Waiting out the real 300 s lease in a test is not worth it; what makes it right is this
    margin over the longest job (3 attempts x 60 s + 1 s + 2 s of back-off)."""
    for name in [n for n in os.environ if n.startswith("PROCESSING_")]:
        monkeypatch.delenv(name)
    defaults = Settings()

    assert defaults.job_budget() == 183
    assert min(defaults.lease, defaults.redelivery_delay) >= 1.5 * defaults.job_budget()
    assert defaults.recovery_interval < defaults.lease
