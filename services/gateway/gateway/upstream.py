"""The HTTP clients for upstream calls: one pool for plain requests, one for streams."""

import httpx

from gateway.settings import Settings


def create_http_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The pooled client for plain requests, with the limits and timeouts from settings.

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


def create_stream_client(settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The client for SSE streams and WebSockets: a pool of their own, so streams that stay open
    for hours can never take the connections plain requests need (with one pool, 100 open event
    streams left every other request waiting 30 s for a 504).

    Its size is the total cap on streams, which the caps check before a stream connects, so a
    stream never waits for it either. Reads wait `stream_read_timeout` (none by default, see
    Settings): the plain read timeout would cut a stream that is merely quiet.
    """
    return httpx.AsyncClient(
        transport=transport,
        limits=httpx.Limits(
            max_connections=settings.max_streams,
            max_keepalive_connections=min(settings.max_keepalive_connections, settings.max_streams),
        ),
        timeout=httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.stream_read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        ),
        follow_redirects=False,
    )
