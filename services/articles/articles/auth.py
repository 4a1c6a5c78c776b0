"""Bearer JWT authentication: HS256, signed with the service's own secret."""

from dataclasses import dataclass

import jwt

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
    if not _storable(subject):
        raise AuthenticationError("sub must be text without NUL characters or lone surrogates")
    return User(id=subject)


def _storable(text: str) -> bool:
    """Whether a database's text column can hold `text`.

    A token's JSON may spell "\\u0000" or a lone "\\ud800": Python decodes both, but PostgreSQL
    text cannot hold NUL and UTF-8 cannot encode a lone surrogate, so either would fail the
    INSERT with a 500 instead of refusing the token.
    """
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
