"""JWT authentication (service_runtime.tokens); a WebSocket may arrive with no token at all."""

from service_runtime.tokens import AuthenticationError, User
from service_runtime.tokens import authenticate as verify

__all__ = ["AuthenticationError", "User", "authenticate"]


def authenticate(token: str | None, secret: str, leeway: float = 0) -> User:
    if not token:
        raise AuthenticationError("no token")
    return verify(token, secret, leeway)
