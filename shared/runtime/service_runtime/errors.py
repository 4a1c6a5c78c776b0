"""Error answers that can always be sent: whatever a client posts, a refusal is a 422, never a 500.

FastAPI's own 422 handler echoes each error's `input` (and `loc`, which may hold a client's key).
Python's JSON parser accepts `NaN`, `Infinity` and `1e400` (read as inf), and the escape
`"\\ud800"` (a lone surrogate). pydantic refuses them for the field, but the reply that says so
could not be written (`allow_nan=False`; UTF-8): a 500 instead of the 422. `REFUSALS` keeps
FastAPI's shape and replaces only what JSON cannot carry; `install` puts on an app the handlers
its service asks for (these, `sql.DATABASE_LOST`, its own).
"""

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

# Starlette's, not FastAPI's subclass: FastAPI raises Starlette's for a body it cannot parse.
from starlette.exceptions import HTTPException

Handler = Callable[[Request, Exception], Awaitable[Response]]


def json_safe(value: Any) -> Any:
    """`value` with non-finite floats as text ("NaN", "Infinity") and lone surrogates as U+FFFD."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        try:
            value.encode()
        except UnicodeEncodeError:  # only lone surrogates fail; the round trip replaces them
            return value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return value
    if isinstance(value, dict):
        return {json_safe(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    return value


async def invalid_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    detail = json_safe(jsonable_encoder(error.errors()))
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def undecodable_body(request: Request, error: Exception) -> Response:
    """A JSON body that is not UTF-8 is malformed JSON like any other: the same 422 `json_invalid`.

    FastAPI answers `{not json` with a 422 but bytes that are not UTF-8 with a 400; every refusal
    of a body here is a 422 (README), so this one is too. Other HTTP errors pass through as they are.
    """
    assert isinstance(error, HTTPException)
    cause = error.__cause__
    if not isinstance(cause, UnicodeDecodeError):
        return await http_exception_handler(request, error)
    detail = [{"type": "json_invalid", "loc": ["body", cause.start], "msg": "JSON decode error", "input": {}}]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


# Refusals of what a client sent, always answerable: a 422 for the invalid and the undecodable.
REFUSALS: Mapping[type[Exception], Handler] = {
    RequestValidationError: invalid_request,
    HTTPException: undecodable_body,
}


def install(app: FastAPI, handlers: Mapping[type[Exception], Handler]) -> None:
    """Answer each exception type in `handlers` with its handler, on this app."""
    for error, handler in handlers.items():
        app.add_exception_handler(error, handler)
