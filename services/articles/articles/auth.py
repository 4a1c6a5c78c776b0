"""Bearer JWT authentication (service_runtime.tokens), with a subject the database can store."""

from articles.schemas import storage_problem
from service_runtime.tokens import AuthenticationError, User
from service_runtime.tokens import authenticate as verify

__all__ = ["AuthenticationError", "User", "authenticate"]


def authenticate(token: str, secret: str, leeway: float = 0) -> User:
    user = verify(token, secret, leeway)
    # A token's JSON may spell "\\u0000" or a lone "\\ud800", which the INSERT would fail on.
    if (problem := storage_problem(user.id)) is not None:
        raise AuthenticationError(f"sub {problem}")
    return user
