"""Bearer JWT checks: HS256, signed with the service's own secret (the `jwt` extra)."""

from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True)
class User:
    """The caller, as named by the token's `sub` claim."""

    id: str


class AuthenticationError(Exception):
    """The token is missing, malformed, expired, wrongly signed, or lacks a usable subject."""


def authenticate(token: str, secret: str, leeway: float = 0) -> User:
    """The user a valid token names; `AuthenticationError` for any other token.

    `leeway`: seconds by which the issuer's clock may differ from this one. A token is still
    valid that long past its `exp`, and already valid that long before its `nbf` or `iat`.
    """
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]}, leeway=leeway)
    except jwt.InvalidTokenError as error:
        raise AuthenticationError(str(error)) from error
    subject = claims["sub"]
    # PyJWT checks that `sub` is a string; the bound keeps user ids the size the services accept
    # (and inside a 255-character column).
    if not 1 <= len(subject) <= 255:
        raise AuthenticationError("sub must be 1 to 255 characters")
    return User(id=subject)
