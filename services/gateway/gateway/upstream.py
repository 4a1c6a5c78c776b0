"""The HTTP client for upstream calls: one pool for the gateway's whole life."""

import httpx

from gateway.settings import Settings


def create_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """A pooled client with the limits and timeouts from settings.

    `transport` is the seam for tests: an `httpx.MockTransport`, or `ASGITransport`s routing to
    the real services in-process. Production passes nothing and gets real sockets.
    """
    return httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(
            max_connections=settings.max_connections,
            max_keepalive_connections=settings.max_keepalive_connections,
        ),
        timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
        # Redirects belong to the caller: the gateway passes them through untouched.
        follow_redirects=False,
    )
