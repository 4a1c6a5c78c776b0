"""RoutingTransport: each request reaches the transport for its host."""

import httpx
import pytest

from fastapi_testkit.routing import RoutingTransport


def answering(name: str, closed: list[str] | None = None) -> httpx.MockTransport:
    class Named(httpx.MockTransport):
        async def aclose(self) -> None:
            if closed is not None:
                closed.append(name)

    return Named(lambda request: httpx.Response(200, text=f"{name}{request.url.path}"))


async def test_each_host_reaches_its_own_transport() -> None:
    routes = {"a.test": answering("a"), "b.test": answering("b")}
    async with httpx.AsyncClient(transport=RoutingTransport(routes)) as client:
        assert (await client.get("http://a.test/x")).text == "a/x"
        assert (await client.get("http://b.test/y")).text == "b/y"


async def test_an_unknown_host_fails_like_an_unreachable_one() -> None:
    async with httpx.AsyncClient(transport=RoutingTransport({"a.test": answering("a")})) as client:
        with pytest.raises(httpx.ConnectError, match=r"no transport for host 'c\.test'"):
            await client.get("http://c.test/")


async def test_a_route_swapped_on_a_running_client_takes_effect() -> None:
    routes = {"a.test": answering("a")}
    async with httpx.AsyncClient(transport=RoutingTransport(routes)) as client:
        routes["a.test"] = answering("replacement")
        assert (await client.get("http://a.test/")).text == "replacement/"


async def test_closing_the_client_closes_every_transport() -> None:
    closed: list[str] = []
    client = httpx.AsyncClient(
        transport=RoutingTransport({"a.test": answering("a", closed), "b.test": answering("b", closed)})
    )

    await client.aclose()

    assert sorted(closed) == ["a", "b"]


class Counting(httpx.AsyncBaseTransport):
    """A transport that counts how often it is entered and exited."""

    def __init__(self) -> None:
        self.entered = self.exited = 0

    async def __aenter__(self) -> "Counting":
        self.entered += 1
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.exited += 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200)  # pragma: no cover


async def test_route_transports_are_entered_once_for_every_client_sharing_them() -> None:
    """httpx-ws's transport starts its task group when entered, and exactly once."""
    route = Counting()
    routing = RoutingTransport({"a.test": route})

    async with httpx.AsyncClient(transport=routing), httpx.AsyncClient(transport=routing):
        assert (route.entered, route.exited) == (1, 0)

    assert (route.entered, route.exited) == (1, 1)
