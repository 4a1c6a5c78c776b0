"""override_dependencies puts back exactly what was there."""

import pytest
from fastapi import FastAPI

from fastapi_testkit import LifespanClient, override_dependencies

from .conftest import get_name


def other() -> str:
    return "other"


async def test_the_override_applies_inside_the_block_only(app: FastAPI, client: LifespanClient) -> None:
    with override_dependencies(app, {get_name: lambda: "fake"}):
        assert (await client.get("/name")).json() == {"name": "fake"}
    assert (await client.get("/name")).json() == {"name": "real"}
    assert app.dependency_overrides == {}


def test_an_earlier_override_is_restored(app: FastAPI) -> None:
    earlier = {get_name: other}
    app.dependency_overrides.update(earlier)

    with override_dependencies(app, {get_name: lambda: "fake"}):
        pass

    assert app.dependency_overrides == earlier


def test_overrides_of_other_dependencies_are_left_alone(app: FastAPI) -> None:
    app.dependency_overrides[other] = get_name

    with override_dependencies(app, {get_name: lambda: "fake"}):
        app.dependency_overrides[other] = other  # someone else changes theirs meanwhile

    assert app.dependency_overrides == {other: other}


def test_restored_even_when_the_block_raises(app: FastAPI) -> None:
    with pytest.raises(KeyError), override_dependencies(app, {get_name: lambda: "fake"}):
        raise KeyError("boom")

    assert app.dependency_overrides == {}
