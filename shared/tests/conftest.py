"""A tiny app for the kit's own tests: a lifespan that records what happened, two routes."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI, Request

pytest_plugins = ["pytester"]


def get_name() -> str:
    return "real"


def make_app(events: list[str]) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        events.append("startup")
        yield {"greeting": "hello"}
        events.append("shutdown")

    app = FastAPI(lifespan=lifespan)

    @app.get("/greet")
    async def greet(request: Request) -> dict[str, str]:
        return {"message": f"{request.state.greeting}, world"}

    @app.get("/name")
    async def name(value: Annotated[str, Depends(get_name)]) -> dict[str, str]:
        return {"name": value}

    return app


class _FailingStartup:
    async def __aenter__(self) -> None:
        raise RuntimeError("no database")

    async def __aexit__(self, *exc_info: object) -> None:
        pass  # pragma: no cover


def failing_app() -> FastAPI:
    """An app whose lifespan fails at startup, as one does when its database is down."""
    return FastAPI(lifespan=lambda app: _FailingStartup())


@pytest.fixture
def events() -> list[str]:
    return []


@pytest.fixture
def app(events: list[str]) -> FastAPI:
    return make_app(events)
