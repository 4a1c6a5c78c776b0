"""create_token: signed tokens for test users."""

import jwt
import pytest

from fastapi_testkit import create_token

SECRET = "a-test-secret-that-is-32-bytes-long"


def test_the_subject_and_expiry_are_set() -> None:
    claims = jwt.decode(create_token("alice", SECRET, expires_in=60), SECRET, algorithms=["HS256"])

    assert claims["sub"] == "alice"
    assert 59 <= claims["exp"] - claims["iat"] <= 60


def test_a_negative_lifetime_gives_an_expired_token() -> None:
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(create_token("alice", SECRET, expires_in=-1), SECRET, algorithms=["HS256"])


def test_extra_claims_are_added_and_none_removes_one() -> None:
    token = create_token("alice", SECRET, role="admin", exp=None)

    claims = jwt.decode(token, SECRET, algorithms=["HS256"])

    assert claims["role"] == "admin"
    assert "exp" not in claims
