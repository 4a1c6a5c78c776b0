from collections.abc import Callable

import httpx
import pytest


async def test_a_note_is_kept_for_its_owner(client: httpx.AsyncClient, log_in: Callable[[str], None]) -> None:
    log_in("alice")

    created = await client.post("/api/notes/", json={"text": "buy milk"})

    assert created.status_code == 201, created.text
    assert (await client.get("/api/notes/")).json() == ["buy milk"]
    log_in("bob")
    assert (await client.get("/api/notes/")).json() == []


async def test_the_override_is_gone_after_the_test_that_made_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/notes/")  # runs after the test above logged in

    assert response.status_code == 401, response.text


@pytest.mark.parametrize("run", ["first", "second"])
async def test_each_test_has_a_database_of_its_own(
    run: str, client: httpx.AsyncClient, log_in: Callable[[str], None]
) -> None:
    log_in("carol")

    assert (await client.post("/api/notes/", json={"text": run})).status_code == 201

    assert (await client.get("/api/notes/")).json() == [run]  # not the other run's note too
