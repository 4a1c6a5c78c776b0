"""JSON that Python reads but JSON forbids (NaN, Infinity, 1e400, lone surrogates) is a 422 naming
the field, in the event's name and anywhere in its data; so is a body that is not UTF-8. Never a 500."""

import pytest

from events.app import create_app
from events.settings import Settings
from fastapi_testkit import LifespanClient, lifespan_client
from fastapi_testkit.bodies import NOT_UTF8, forbidden_bodies

JSON = {"Content-Type": "application/json"}
EVENT = {"event": "update", "data": {"n": 1}}


@pytest.mark.parametrize("field", ["event", "data"])
async def test_a_forbidden_value_in_an_event_is_a_422_naming_it(client: LifespanClient, field: str) -> None:
    for name, body in forbidden_bodies(EVENT, field).items():
        response = await client.post("/api/topics/news/events", content=body, headers=JSON)

        assert response.status_code == 422, (name, response.text)
        assert [error["loc"][:2] for error in response.json()["detail"]] == [["body", field]], name
    assert (await client.get("/api/topics/news")).json()["length"] == 0  # nothing was stored


async def test_a_body_that_is_not_utf8_is_a_422_like_any_malformed_json(client: LifespanClient) -> None:
    response = await client.post("/api/topics/news/events", content=NOT_UTF8, headers=JSON)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_a_body_over_the_limit_is_a_413_before_it_is_parsed(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"max_body_bytes": 64}))
    async with lifespan_client(app) as client:
        response = await client.post(
            "/api/topics/news/events", content=b'{"padding": "' + b"x" * 100 + b'"}', headers=JSON
        )

    assert response.status_code == 413, response.text
