"""The dashboard (two upstreams at once, one may fail) and the health check."""

import asyncio
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, override_dependencies
from gateway.dependencies import get_redis, get_sessionmaker

from .helpers import failing


async def test_the_dashboard_shows_articles_and_processing_counts(client: LifespanClient) -> None:
    response = await client.get("/api/dashboard")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "articles": {"ok": True, "data": [{"id": 1, "title": "Latest"}]},
        "processing": {"ok": True, "data": {"pending": 1, "processing": 0, "processed": 2, "failed": 0}},
    }


async def test_a_failing_upstream_leaves_the_other_part_of_the_dashboard(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    upstreams["processing.test"] = failing(httpx.ConnectError("Connection refused"))

    response = await client.get("/api/dashboard")

    assert response.status_code == 200, response.text
    assert response.json()["articles"]["ok"] is True
    assert response.json()["processing"] == {"ok": False, "error": "ConnectError: Connection refused"}


async def test_an_upstream_error_status_is_reported_in_its_part(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    upstreams["articles.test"] = httpx.MockTransport(lambda request: httpx.Response(500, text="boom"))

    response = await client.get("/api/dashboard")

    assert response.json()["articles"]["ok"] is False
    assert "500 Internal Server Error" in response.json()["articles"]["error"]
    assert response.json()["processing"]["ok"] is True


async def test_the_two_upstreams_are_asked_at_the_same_time(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport]
) -> None:
    """Each fake waits until both requests have arrived: sequential calls would never finish."""
    both_arrived = asyncio.Barrier(2)

    async def answer(request: httpx.Request) -> httpx.Response:
        async with asyncio.timeout(5):
            await both_arrived.wait()
        return httpx.Response(200, json={"host": request.url.host})

    upstreams["articles.test"] = upstreams["processing.test"] = httpx.MockTransport(answer)

    response = await client.get("/api/dashboard")

    assert response.json()["articles"] == {"ok": True, "data": {"host": "articles.test"}}
    assert response.json()["processing"] == {"ok": True, "data": {"host": "processing.test"}}


async def test_health_is_200_when_everything_answers(client: LifespanClient) -> None:
    response = await client.get("/health")

    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ok",
        "dependencies": {
            "articles": "ok",
            "chat": "ok",
            "events": "ok",
            "processing": "ok",
            "redis": "ok",
            "database": "ok",
        },
    }


@pytest.mark.parametrize(
    ("transport", "state"),
    [
        (failing(httpx.ConnectError("refused")), "unreachable: ConnectError"),
        (httpx.MockTransport(lambda request: httpx.Response(500)), "unhealthy: HTTP 500"),
    ],
)
async def test_health_is_503_naming_what_is_down(
    client: LifespanClient, upstreams: dict[str, httpx.AsyncBaseTransport], transport: httpx.MockTransport, state: str
) -> None:
    upstreams["events.test"] = transport

    response = await client.get("/health")

    assert response.status_code == 503, response.text
    assert response.json()["status"] == "unavailable"
    assert response.json()["dependencies"]["events"] == state
    assert response.json()["dependencies"]["articles"] == "ok"


class Broken:
    """Stands in for Redis or a sessionmaker whose server went away."""

    async def ping(self) -> bool:
        raise ConnectionError("Redis went away")

    def __call__(self) -> "Broken":
        return self

    async def __aenter__(self) -> "Broken":
        raise OSError("database went away")

    async def __aexit__(self, *exc_info: object) -> None:
        pass  # pragma: no cover


@pytest.mark.parametrize(
    ("dependency", "name", "state"),
    [(get_redis, "redis", "unreachable: ConnectionError"), (get_sessionmaker, "database", "unreachable: OSError")],
)
async def test_health_reports_a_backend_that_stopped_answering(
    app: FastAPI, client: LifespanClient, dependency: Callable[..., object], name: str, state: str
) -> None:
    with override_dependencies(app, {dependency: Broken}):
        response = await client.get("/health")

    assert response.status_code == 503, response.text
    assert response.json()["dependencies"][name] == state
