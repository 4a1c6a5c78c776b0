"""Signed tokens for test users."""

import time
from typing import Any

try:
    import jwt as pyjwt
except ImportError as error:  # an extra: say which, not just "no module named jwt"
    raise ImportError("fastapi_testkit.create_token needs pyjwt: install fastapi-testkit[jwt]") from error


def create_token(
    subject: str,
    secret: str,
    *,
    expires_in: float = 300,
    algorithm: str = "HS256",
    **claims: Any,
) -> str:
    """Return a JWT for `subject`, expiring `expires_in` seconds from now.

    A negative `expires_in` gives an expired token; extra keyword arguments become claims
    (`None` removes a standard one, e.g. `exp=None` for a token without expiry).
    """
    now = int(time.time())
    payload: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + int(expires_in)}
    payload.update(claims)
    return pyjwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm=algorithm)
