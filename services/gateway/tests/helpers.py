"""What more than one test module of the gateway suite needs: fake upstreams, failing transports, logs."""

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response, WebSocket
from fastapi.responses import JSONResponse

from service_runtime import refusals

# The tests' rate-limit window: a day. The limit counts in fixed windows (gateway/ratelimit.py),
# and a test's few requests that straddled two would each window allow the whole limit again.
LONG_WINDOW = 86_400


def fake_upstream(name: str, closes: list[int] | None = None) -> FastAPI:
    """An upstream that answers /health and echoes every other request back as JSON (`status`,
    `location`, `pad`, `cookies` and `served` in the query shape the answer); WebSockets
    at /ws/echo (the close codes its clients send are appended to `closes`), /ws/chatty, /ws/headers
    and /ws/refuse.

    Header values are echoed as Starlette reads them, as Latin-1: `.encode("latin-1")` gives back
    the bytes the upstream received."""
    app = FastAPI()
    closes = [] if closes is None else closes

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/articles/")
    async def articles() -> list[dict[str, Any]]:
        return [{"id": 1, "title": "Latest"}]

    @app.get("/api/stats")
    async def stats() -> dict[str, int]:
        return {"pending": 1, "processing": 0, "processed": 2, "failed": 0}

    @app.websocket("/ws/echo")
    async def echo_socket(websocket: WebSocket) -> None:
        """Echoes text as text and bytes as bytes; "bye" closes with 4000 from the upstream's side."""
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                closes.append(message.get("code", 1000))
                return
            if message.get("text") == "bye":
                await websocket.close(4000, "upstream says bye")
                return
            if message.get("text") is not None:
                await websocket.send_text(
                    f"{name}: {message['text']} {websocket.query_params.get('token', '')}".strip()
                )
            else:
                await websocket.send_bytes(message["bytes"][::-1])

    @app.websocket("/ws/headers")
    async def handshake_headers(websocket: WebSocket) -> None:
        """Sends back the handshake's headers, each value as its bytes read as Latin-1."""
        await websocket.accept()
        await websocket.send_json(
            {name.decode(): value.decode("latin-1") for name, value in websocket.scope["headers"]}
        )
        await websocket.close()

    @app.websocket("/ws/chatty")
    async def chatty(websocket: WebSocket) -> None:
        """Talks at once and goes on, as a busy room does: 20 messages after accept, one for each received."""
        await websocket.accept()
        for i in range(20):
            await websocket.send_text(f"{name}: news {i}")
        while (await websocket.receive())["type"] != "websocket.disconnect":
            await websocket.send_text(f"{name}: noted")

    @app.websocket("/ws/refuse")
    async def refuse(websocket: WebSocket) -> None:
        await websocket.close(4001, "no token")

    @app.websocket("/ws/deny")
    async def deny(websocket: WebSocket) -> None:
        """A 401 to the handshake where the server can send one (uvicorn), else close 4001."""
        await refusals.refuse(websocket, 401, 4001, "no token")

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def echo(path: str, request: Request) -> Response:
        body = await request.body()
        status = int(request.query_params.get("status", 200))
        echoed = {
            "upstream": name,
            "method": request.method,
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "query": request.url.query,
            "headers": dict(request.headers),
            "body": body.decode(),
            "pad": "x" * int(request.query_params.get("pad", 0)),  # a longer answer, to be streamed
        }
        if request.query_params.get("cookies"):  # two Set-Cookie headers, which must stay two
            reply = JSONResponse({"path": request.url.path})
            reply.set_cookie("a", "1")
            reply.set_cookie("b", "2")
            return reply
        headers = {"x-upstream": name} | ({"www-authenticate": "Bearer"} if status == 401 else {})
        if (location := request.query_params.get("location")) is not None:  # with a 3xx status: a redirect
            headers["location"] = location
        if request.query_params.get("served"):  # what a real upstream's uvicorn adds to every answer
            headers |= {"date": "Mon, 01 Jan 2024 00:00:00 GMT", "server": "upstream-uvicorn"}
        return JSONResponse(echoed, status_code=status, headers=headers)

    return app


def failing(error: Exception) -> httpx.MockTransport:
    """A transport whose every request fails with `error` (a refused connection, a timeout)."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return httpx.MockTransport(handler)


async def chunks(items: list[bytes]) -> AsyncIterator[bytes]:
    """A request body sent in chunks, with no Content-Length."""
    for item in items:
        yield item


class _Lines(logging.Handler):
    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class _Records(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def logged_records(*names: str) -> Iterator[list[logging.LogRecord]]:
    """The records the loggers `names` (and those below them) write, from INFO up, while the block
    runs; entered as `logged_lines` is, once the server runs."""
    records: list[logging.LogRecord] = []
    with _handled_by(_Records(records), names):
        yield records


@contextmanager
def _handled_by(handler: logging.Handler, names: tuple[str, ...]) -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@contextmanager
def logged_lines(*names: str) -> Iterator[list[str]]:
    """The messages the loggers `names` write, from INFO up, while the block runs.

    The handler sits on each logger itself: uvicorn's do not pass records on to the root logger,
    where `caplog` listens. Enter it once the server runs (uvicorn's set-up drops a logger's handlers).
    """
    lines: list[str] = []
    with _handled_by(_Lines(lines), names):
        yield lines
