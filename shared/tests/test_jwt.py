"""create_token: signed tokens for test users."""

import sys

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


def test_without_pyjwt_the_kit_imports_and_create_token_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyjwt is the `jwt` extra: the kit must load without it, and say what to install when asked."""
    import fastapi_testkit

    monkeypatch.setitem(sys.modules, "jwt", None)  # what an import of a missing package does
    monkeypatch.delitem(sys.modules, "fastapi_testkit.jwt")

    with pytest.raises(ImportError, match=r"install fastapi-testkit\[jwt\]"):
        fastapi_testkit.create_token  # noqa: B018 (the attribute access is the import)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        fastapi_testkit.nothing  # noqa: B018
