"""One httpx transport in front of several: each request goes to the one for its host."""

from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType

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
        self._stack: AsyncExitStack | None = None
        self._entered = 0

    async def __aenter__(self) -> "RoutingTransport":
        """Enter every route's transport, once however many clients share this one.

        A client enters its transport; httpx-ws's `ASGIWebSocketTransport` needs that (it starts
        its task group there), and an app with two clients on one transport enters it twice.
        """
        if self._entered == 0:
            async with AsyncExitStack() as stack:
                for transport in self.routes.values():
                    await stack.enter_async_context(transport)
                self._stack = stack.pop_all()
        self._entered += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        self._entered -= 1
        if self._entered == 0 and self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.__aexit__(exc_type, exc_value, traceback)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self.routes.get(request.url.host)
        if transport is None:
            raise httpx.ConnectError(f"no transport for host {request.url.host!r}", request=request)
        return await transport.handle_async_request(request)

    async def aclose(self) -> None:
        for transport in self.routes.values():
            await transport.aclose()
