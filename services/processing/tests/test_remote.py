"""Outbound HTTP mocked with respx: the remote summariser (remote.py) against a mocked API.

respx replaces httpx's transport, so the real `RemoteSummarizer` builds and sends its request
and parses the answer, and no network is touched. Every mock here is entered with
`assert_all_called=True` (respx's default) and `assert_all_mocked=True`: a route the code never
called, or a request nobody mocked, fails the test instead of passing silently.

Where respx meets the test's own client: respx's default mocker patches httpcore, which the
in-process `ASGITransport` never reaches, so the `client` fixture and respx get along. Two
common set-ups do collide (the last tests): `respx.mock(using="httpx")`, which patches every
`AsyncClient` (the test's too), and any client that goes over a socket to the app (the kit's
`live_server`). The fix is a pass-through route for the app's own host.
"""

import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from respx.models import AllMockedAssertionError

from fastapi_testkit import LifespanClient, LiveServer, lifespan_client
from processing.app import create_app
from processing.remote import CONNECT_TIMEOUT, USER_AGENT, RemoteSummarizer, RemoteSummaryError
from processing.settings import Settings
from processing.summary import MAX_CHARACTERS, TransientError

from . import helpers

pytestmark = pytest.mark.background

API = "https://summarizer.test/v1/summarize"


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The summariser's API, mocked; only it. Any other request through httpcore fails the test."""
    with respx.mock(assert_all_called=True, assert_all_mocked=True) as router:
        yield router


@pytest.fixture
def remote_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"summarizer": RemoteSummarizer(API, token="s3cret")})


async def test_the_request_sent_is_a_json_post_with_the_token(api: respx.MockRouter) -> None:
    route = api.post(API).respond(200, json={"summary": "Short."})

    summary = await RemoteSummarizer(API, token="s3cret")("Long content. Very long.")

    assert summary == "Short."
    request = route.calls.last.request
    assert (request.method, str(request.url)) == ("POST", API)
    assert json.loads(request.content) == {"content": "Long content. Very long.", "max_characters": MAX_CHARACTERS}
    assert request.headers["authorization"] == "Bearer s3cret"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == USER_AGENT


async def test_no_token_sends_no_authorization_header(api: respx.MockRouter) -> None:
    route = api.post(API).respond(200, json={"summary": "Short."})

    await RemoteSummarizer(API)("Content.")

    assert "authorization" not in route.calls.last.request.headers


@pytest.mark.parametrize("status", [500, 502, 503, 429])
async def test_a_5xx_or_429_is_a_transient_error_and_is_not_retried_by_the_client(
    api: respx.MockRouter, status: int
) -> None:
    """Raised as what the task retries; one call only: the retry policy is the task's, not two."""
    route = api.post(API).respond(status, text="overloaded")

    with pytest.raises(TransientError, match=f"answered {status}"):
        await RemoteSummarizer(API)("Content.")
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("side_effect", "raised"),
    [
        pytest.param(httpx.ReadTimeout("read timed out"), TimeoutError, id="read-timeout"),
        pytest.param(httpx.ConnectTimeout("connect timed out"), TimeoutError, id="connect-timeout"),
        pytest.param(httpx.ConnectError("connection refused"), ConnectionError, id="refused"),
        pytest.param(httpx.RemoteProtocolError("peer closed"), ConnectionError, id="dropped"),
    ],
)
async def test_timeouts_and_transport_errors_are_raised_as_what_the_task_retries(
    api: respx.MockRouter, side_effect: Exception, raised: type[Exception]
) -> None:
    # httpx's own exceptions subclass neither TimeoutError nor ConnectionError: untranslated,
    # the task would take them for bugs and fail the job at the first attempt.
    route = api.post(API).mock(side_effect=side_effect)

    with pytest.raises(raised):
        await RemoteSummarizer(API)("Content.")
    assert route.call_count == 1


@pytest.mark.parametrize(
    "response",
    [
        pytest.param(httpx.Response(400, json={"detail": "too long"}), id="400"),
        pytest.param(httpx.Response(401), id="401"),
        pytest.param(httpx.Response(200, text="<html>"), id="not-json"),
        pytest.param(httpx.Response(200, json=["a list"]), id="not-an-object"),
        pytest.param(httpx.Response(200, json={"summary": None}), id="no-summary"),
    ],
)
async def test_a_refusal_or_a_bad_body_is_a_permanent_error(api: respx.MockRouter, response: httpx.Response) -> None:
    api.post(API).mock(return_value=response)

    with pytest.raises(RemoteSummaryError):
        await RemoteSummarizer(API)("Content.")


def test_the_client_connect_timeout_is_bounded_and_the_read_is_left_to_the_task() -> None:
    """One deadline for the call (PROCESSING_SUMMARY_TIMEOUT, in the task), a short one to connect."""
    assert 0 < CONNECT_TIMEOUT < Settings.model_fields["summary_timeout"].default


@pytest.mark.db
async def test_the_task_retries_a_failing_api_under_its_one_policy(
    api: respx.MockRouter, remote_settings: Settings
) -> None:
    """503, 503, then 200: `processed` after exactly max_attempts (3) calls."""
    route = api.post(API).mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json={"summary": "Third time."})]
    )
    async with lifespan_client(create_app(remote_settings)) as client:
        article = await helpers.create_article(client)
        triggered = await client.post(f"/api/articles/{article['id']}/process")
        processed = (await client.get(f"/api/articles/{article['id']}")).json()

    assert triggered.status_code == 202, triggered.text
    assert (processed["status"], processed["summary"]) == ("processed", "Third time.")
    assert route.call_count == remote_settings.max_attempts


@pytest.mark.db
async def test_an_api_that_keeps_failing_ends_failed_after_max_attempts_calls_not_more(
    api: respx.MockRouter, remote_settings: Settings
) -> None:
    route = api.post(API).respond(503)
    async with lifespan_client(create_app(remote_settings)) as client:
        article = await helpers.create_article(client)
        await client.post(f"/api/articles/{article['id']}/process")
        failed = (await client.get(f"/api/articles/{article['id']}")).json()

    assert (failed["status"], failed["error"]) == ("failed", "TransientError: summariser API answered 503")
    assert route.call_count == remote_settings.max_attempts  # 3, not 3 x the client's own retries


@pytest.mark.db
async def test_a_refusal_fails_the_job_at_the_first_call(api: respx.MockRouter, remote_settings: Settings) -> None:
    route = api.post(API).respond(400, json={"detail": "content too long"})
    async with lifespan_client(create_app(remote_settings)) as client:
        article = await helpers.create_article(client)
        await client.post(f"/api/articles/{article['id']}/process")
        failed = (await client.get(f"/api/articles/{article['id']}")).json()

    assert failed["status"] == "failed"
    assert failed["error"].startswith("RemoteSummaryError: summariser API answered 400")
    assert route.call_count == 1


@pytest.mark.db
async def test_the_summarizer_url_and_token_are_read_from_the_environment(
    api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.delenv("PROCESSING_SUMMARIZER", raising=False)
    monkeypatch.setenv("PROCESSING_SUMMARIZER_URL", API)
    monkeypatch.setenv("PROCESSING_SUMMARIZER_TOKEN", "from-env")
    monkeypatch.setenv("PROCESSING_DATABASE_URL", database_url)
    route = api.post(API).respond(200, json={"summary": "Remote."})

    async with lifespan_client(create_app()) as client:
        article = await helpers.create_article(client)
        await client.post(f"/api/articles/{article['id']}/process")
        processed = (await client.get(f"/api/articles/{article['id']}")).json()

    assert processed["summary"] == "Remote."
    assert route.calls.last.request.headers["authorization"] == "Bearer from-env"
    assert "from-env" not in repr(Settings().summarizer)  # the token never in a log line


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param({"summarizer_url": API, "summarizer": helpers.shout}, "not both", id="both"),
        pytest.param({"summarizer_url": "ftp://summarizer.test/"}, "must be http", id="scheme"),
        pytest.param({"summarizer_url": "summarizer.test/v1"}, "must be http", id="no-scheme"),
    ],
)
def test_settings_refuse_a_bad_remote_summariser(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.model_validate(fields)


# Where respx meets the test's own client.


async def test_naive_mocking_of_every_client_also_captures_the_test_client(client: LifespanClient) -> None:
    """`respx.mock(using="httpx")` patches every httpx client, the test's in-process one too:
    its request to the app is refused as "not mocked" before the app ever sees it."""
    with respx.mock(using="httpx", assert_all_called=False) as naive:
        naive.post(API).respond(200, json={"summary": "Short."})
        with pytest.raises(AllMockedAssertionError, match="http://testserver/health"):
            await client.get("/health")


async def test_the_fix_passes_the_app_host_through(client: LifespanClient) -> None:
    """The same mocker, with the test client's host passed through: the app answers, and the
    API stays mocked (`assert_all_mocked` still fails any other host)."""
    with respx.mock(using="httpx", assert_all_called=True) as scoped:
        scoped.route(host="testserver").pass_through()
        scoped.post(API).respond(200, json={"summary": "Short."})
        health = await client.get("/health")
        summary = await RemoteSummarizer(API)("Content.")

    assert health.status_code == 200, health.text
    assert summary == "Short."


async def test_the_default_mocker_captures_a_client_of_the_live_server(live_server: LiveServer) -> None:
    """respx's default mocker (httpcore) leaves `ASGITransport` alone, but a client that goes
    over a socket to the app under test is captured like the code's own: "not mocked"."""
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        with respx.mock(assert_all_called=False) as naive:
            naive.post(API).respond(200, json={"summary": "Short."})
            with pytest.raises(AllMockedAssertionError, match="/health"):
                await http.get("/health")

        with respx.mock(assert_all_called=True) as scoped:
            scoped.route(host="127.0.0.1").pass_through()
            scoped.post(API).respond(200, json={"summary": "Short."})
            health = await http.get("/health")
            summary = await RemoteSummarizer(API)("Content.")

    assert health.status_code == 200, health.text
    assert summary == "Short."
