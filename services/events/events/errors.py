"""Events' own error answer: Redis being down is a 503, never a 500 (the 422s are the runtime's)."""

from collections.abc import Mapping

from fastapi import Request, status
from fastapi.responses import JSONResponse, Response
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service_runtime.errors import Handler
from service_runtime.redis import PoolExhaustedError


async def redis_unavailable(request: Request, error: Exception) -> Response:
    # The client did nothing wrong, and may retry: 503, not a 500.
    detail = "The event store is unavailable; try again later"
    return JSONResponse({"detail": detail}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


# For `service_runtime.errors.install`, beside its REFUSALS.
REDIS_LOST: Mapping[type[Exception], Handler] = {
    RedisConnectionError: redis_unavailable,
    RedisTimeoutError: redis_unavailable,
    # Every pooled connection busy (redis_client.py): as unavailable to this request as a lost server.
    PoolExhaustedError: redis_unavailable,
}
