"""lifespan_client and the `client` fixture."""

import httpx
import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, lifespan_client

from .conftest import failing_app


async def test_the_lifespan_runs_around_the_client(app: FastAPI, events: list[str]) -> None:
    async with lifespan_client(app) as client:
        assert events == ["startup"]
        assert (reply := await client.get("/greet")).status_code == 200, reply.text
    assert events == ["startup", "shutdown"]


async def test_lifespan_state_reaches_requests_and_the_test(client: LifespanClient) -> None:
    response = await client.get("/greet")

    assert response.json() == {"message": "hello, world"}
    assert client.state == {"greeting": "hello"}


async def test_a_bare_asgi_transport_has_no_lifespan_state(app: FastAPI, events: list[str]) -> None:
    """What the kit fixes: ASGITransport alone never starts the lifespan."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        with pytest.raises(AttributeError, match="greeting"):
            await client.get("/greet")
    assert events == []


async def test_a_failing_startup_fails_the_client() -> None:
    with pytest.raises(RuntimeError, match="no database"):
        async with lifespan_client(failing_app()):
            pass  # pragma: no cover
