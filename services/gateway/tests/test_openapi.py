"""The OpenAPI document: built without warnings, and saying what the gateway itself answers."""

from fastapi import FastAPI

from fastapi_testkit import LifespanClient
from fastapi_testkit.snapshot import Snapshot


async def test_the_document_has_one_operation_id_per_operation(client: LifespanClient) -> None:
    """A single api_route with seven methods gave them all one id: "Duplicate Operation ID",
    a warning (so an error here, filterwarnings = error) on the first /openapi.json."""
    response = await client.get("/openapi.json")

    assert response.status_code == 200, response.text
    ids = [op["operationId"] for item in response.json()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids)), ids


async def test_the_proxy_documents_every_status_of_its_own(client: LifespanClient) -> None:
    document = (await client.get("/openapi.json")).json()

    for operation in document["paths"]["/{service}/{path}"].values():
        assert {"400", "404", "413", "429", "502", "503", "504"} <= set(operation["responses"]), operation


def test_the_openapi_document_is_the_committed_one(app: FastAPI, snapshot: Snapshot) -> None:
    snapshot.assert_match(app.openapi(), "openapi.json")
