"""Error answers for what is not the client's fault: a database connection lost is a 503, never a 500.

The same handler as in articles' and processing's errors.py (each service stays copyable alone).
"""

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


async def database_unavailable(request: Request, error: Exception) -> Response:
    """The database ended the connection under a request in flight (a restart, a failover, an
    operator's `pg_terminate_backend`): a 503 to try again, not a 500 with a traceback.

    The pool replaces such connections before the next request (`pool_pre_ping`), so the retry
    succeeds (tests/test_faults.py). Any other database error is a bug, and stays a 500.
    """
    assert isinstance(error, DBAPIError)
    if not (error.connection_invalidated or isinstance(error, InterfaceError | OperationalError)):
        raise error
    return JSONResponse(
        {"detail": "The database is unavailable; try again"},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": "1"},
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(DBAPIError, database_unavailable)
