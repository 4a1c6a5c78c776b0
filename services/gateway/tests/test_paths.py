"""Paths and headers passed on exactly: percent-encoding kept, control characters refused,
repeated response headers kept repeated. Hypothesis drives the gateway's raw paths."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fastapi_testkit import LifespanClient

pytestmark = pytest.mark.proxy


async def raw_get(client: LifespanClient, raw_path: str) -> tuple[int, str]:
    # Built from raw bytes: httpx would otherwise re-encode or normalise the path.
    request = client.build_request("GET", "http://testserver")
    request.url = request.url.copy_with(raw_path=raw_path.encode())
    response = await client.send(request)
    return response.status_code, response.text


@pytest.mark.parametrize("encoded", ["a%3Fb", "a%23b", "a%2Fb", "caf%C3%A9", "a%20b", "%ED%A0%80"])
async def test_a_percent_encoded_path_reaches_the_upstream_as_sent(client: LifespanClient, encoded: str) -> None:
    """Decoded, `%3F` would become `?`, and the upstream would lose everything after it."""
    request = client.build_request("GET", "http://testserver")
    request.url = request.url.copy_with(raw_path=f"/articles/x/{encoded}?q=1".encode())

    response = await client.send(request)

    assert response.status_code == 200, response.text
    assert (response.json()["raw_path"], response.json()["query"]) == (f"/x/{encoded}", "q=1")


@pytest.mark.parametrize("control", ["%01", "%00", "%0A", "%0D", "%1F", "%7F", "%2501"])
async def test_a_control_character_in_the_path_is_400(client: LifespanClient, control: str) -> None:
    """Unchecked, `/articles/a%01` is a 500 (httpx.InvalidURL)."""
    status, body = await raw_get(client, f"/articles/a{control}")

    assert status == 400, body
    assert "control characters" in body


async def test_repeated_response_headers_stay_repeated(client: LifespanClient) -> None:
    response = await client.get("/articles/x", params={"cookies": 1})

    assert response.status_code == 200, response.text
    assert [value.split(";")[0] for value in response.headers.get_list("set-cookie")] == ["a=1", "b=2"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segment=st.binary(max_size=12))
async def test_any_percent_encoded_path_is_never_a_gateway_error(client: LifespanClient, segment: bytes) -> None:
    """Every byte, percent-encoded: the upstream's answer or a 4xx, never a 5xx of the gateway's.
    (A decoded newline never matches the route's pattern at all: that one is the router's 404.)"""
    encoded = "".join(f"%{byte:02X}" for byte in segment)
    status, body = await raw_get(client, f"/articles/{encoded}")

    assert status in (200, 400, 404), body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.text(alphabet=string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@/%", max_size=20))
async def test_any_printable_path_is_never_a_gateway_error(client: LifespanClient, path: str) -> None:
    status, body = await raw_get(client, f"/articles/{path}")

    assert status < 500, body
