"""One httpx transport in front of several: each request goes to the one for its host."""

from collections.abc import Mapping

import httpx


class RoutingTransport(httpx.AsyncBaseTransport):
    """Sends each request to the transport registered for its URL's host.

    Give an app's HTTP client this in place of the network, with an `ASGITransport` per
    upstream, and its calls reach those apps in-process: `{"articles.test": ASGITransport(...)}`.
    A host with no transport fails like an unknown host would, with `httpx.ConnectError`.
    """

    def __init__(self, routes: Mapping[str, httpx.AsyncBaseTransport]) -> None:
        # Kept by reference, so a test can swap one upstream (make it fail) on a running app.
        self.routes = routes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no transport for host {request.url.host!r}", request=request)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self.routes.values():
            await transport.aclose()
