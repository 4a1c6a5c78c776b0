"""Bearer JWT authentication: HS256, signed with the service's own secret."""

from dataclasses import dataclass

import jwt

from articles.schemas import storage_problem

ALGORITHM = "HS256"


@dataclass(frozen=True)
class User:
    """The caller, as named by the token's `sub` claim."""

    id: str


class AuthenticationError(Exception):
    """The token is malformed, expired, wrongly signed, or lacks a usable subject."""


def authenticate(token: str, secret: str) -> User:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.InvalidTokenError as error:
        raise AuthenticationError(str(error)) from error
    subject = claims["sub"]
    # PyJWT checks that `sub` is a string; the length bound keeps it inside the author_id column.
    if not 1 <= len(subject) <= 255:
        raise AuthenticationError("sub must be 1 to 255 characters")
    # A token's JSON may spell "\\u0000" or a lone "\\ud800", which the INSERT would fail on.
    if (problem := storage_problem(subject)) is not None:
        raise AuthenticationError(f"sub {problem}")
    return User(id=subject)
