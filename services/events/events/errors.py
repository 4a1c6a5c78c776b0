"""Error answers: clear 422s for any input, 503 while Redis is unavailable, never a 500."""

import math
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError


def _finite(value: Any) -> Any:
    """`value` with NaN and infinities as text: JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_finite(item) for item in value]
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    return value


async def invalid_request(request: Request, error: Exception) -> JSONResponse:
    # FastAPI's own handler echoes each error's input. Python's JSON parser accepts NaN and
    # Infinity in a body, and the answer refusing them could not be encoded: a 500, not a 422.
    assert isinstance(error, RequestValidationError)
    detail = _finite(jsonable_encoder(error.errors()))
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def redis_unavailable(request: Request, error: Exception) -> JSONResponse:
    # The client did nothing wrong, and may retry: 503, not a 500.
    return JSONResponse(
        {"detail": "The event store is unavailable; try again later"}, status.HTTP_503_SERVICE_UNAVAILABLE
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(RedisConnectionError, redis_unavailable)
    app.add_exception_handler(RedisTimeoutError, redis_unavailable)
